/**
 * The worker Lambda, invoked every minute by EventBridge Scheduler: drains due jobs of its queue
 * with the handlers of `functions/jobs/`, publishes logs and metrics, and returns the report.
 *
 * Time: `finishBy` = the Lambda's deadline minus {@link SAFETY_MARGIN_MS}, so a job is claimed
 * only while its whole timeout (plus lease grace) still fits; claiming stops at the same point
 * (`timeBudgetMs`). When nothing is due it waits for a delayed job or retry due within
 * {@link MAX_WAIT_FOR_DUE_MS} (at most until the next scheduled invoke) instead of returning.
 */
import type { Context } from 'aws-lambda';
import { queueFromEnv, queueOptionsFromEnv } from '../lib/env.ts';
import { oldestDueJobAgeMs } from '../lib/observability/oldest-due.ts';
import { METRIC } from '../lib/observability/names.ts';
import { createObservability } from '../lib/observability/powertools.ts';
import { workerEventSink } from '../lib/observability/worker-events.ts';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { JobQueue } from '../lib/queue.ts';
import { isWakeEvent } from '../lib/scheduler/port.ts';
import { MAX_WAKE_WAIT_MS } from '../lib/scheduler/wakeups.ts';
import type { ProcessReport } from '../lib/types.ts';
import { handlers } from './jobs/index.ts';
import type { JobTypes } from './jobs/index.ts';

/** Time kept free at the end of an invocation for writing outcomes and flushing metrics. */
export const SAFETY_MARGIN_MS = 5_000;

/**
 * Lambda's longest timeout. No invocation of any worker can run a job whose `timeoutMs` plus
 * lease grace exceeds it less {@link SAFETY_MARGIN_MS}: such a job is failed for good with a
 * `JobTimeoutExceedsBudgetError` (`workerBudgetMs`) instead of being deferred by every invocation.
 * A job that only misses what is left of this invocation is deferred to a later one.
 */
export const LAMBDA_MAX_TIMEOUT_MS = 900_000;

/** The longest an idle invocation waits for a job known to become due (the schedule fires every minute). */
export const MAX_WAIT_FOR_DUE_MS = 50_000;

/** What the worker returns: the drain's report and the backlog age it published. */
export interface WorkerResult extends ProcessReport {
  /** Age of the oldest job still due and unclaimed after the drain, in ms (0 if none). */
  readonly oldestDueJobAgeMs: number;
}

const options = queueOptionsFromEnv();
const { logger, metrics } = createObservability({ queue: options.queue });
const onEvent = workerEventSink({ logger, metrics });
let queue: JobQueue<JobTypes> | undefined;

/** The Lambda handler. */
export async function handler(event: unknown, context: Pick<Context, 'getRemainingTimeInMillis' | 'awsRequestId'>): Promise<WorkerResult> {
  queue ??= queueFromEnv<JobTypes>();
  // A kick or wake-up from lib/scheduler names its queue, and its job may be due up to
  // MAX_WAKE_WAIT_MS later (a wake-up fires up to a minute before the job's minute).
  const wake = isWakeEvent(event) ? event : undefined;
  const budgetMs = Math.max(0, context.getRemainingTimeInMillis() - SAFETY_MARGIN_MS);
  try {
    const report = await queue.processJobs(handlers, {
      queue: wake?.queue ?? options.queue,
      concurrency: options.concurrency,
      finishBy: Date.now() + budgetMs,
      timeBudgetMs: budgetMs,
      workerBudgetMs: LAMBDA_MAX_TIMEOUT_MS - SAFETY_MARGIN_MS,
      waitForDueWithinMs: Math.min(wake ? Math.max(MAX_WAIT_FOR_DUE_MS, MAX_WAKE_WAIT_MS) : MAX_WAIT_FOR_DUE_MS, budgetMs),
      workerId: `lambda-${context.awsRequestId}`,
      onEvent,
    });
    const ageMs = await oldestDueJobAgeMs(queue.store, options.queue);
    metrics.addMetric(METRIC.oldestDueJobAge, MetricUnit.Milliseconds, ageMs);
    logger.info('drain finished', { ...report, oldestDueJobAgeMs: ageMs, requestId: context.awsRequestId });
    return { ...report, oldestDueJobAgeMs: ageMs };
  } finally {
    metrics.publishStoredMetrics();
  }
}
