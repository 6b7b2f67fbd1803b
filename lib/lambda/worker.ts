/**
 * The worker Lambda, as a factory: `createWorkerHandler(handlers)` returns the handler that
 * EventBridge Scheduler (the minute tick of each served queue), the stream function (kicks) and
 * one-time wake-ups invoke. Each invocation drains the queue its event names (else the default
 * queue of the environment), publishes logs and metrics, and returns the report.
 *
 * Time: `finishBy` = the invocation's deadline minus `safetyMarginMs`, so a job is claimed only
 * while its whole timeout (plus lease grace) still fits; claiming stops at the same point
 * (`timeBudgetMs`). When nothing is due it waits for a delayed job or retry due within
 * {@link MAX_WAIT_FOR_DUE_MS} (at most until the next tick) instead of returning.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { queueOptionsFromEnv } from '../env.ts';
import type { EnvQueueOptions } from '../env.ts';
import { oldestDueJobAgeMs } from '../observability/oldest-due.ts';
import { METRIC } from '../observability/names.ts';
import { createObservability } from '../observability/powertools.ts';
import { workerEventSink } from '../observability/worker-events.ts';
import type { JobQueue } from '../queue.ts';
import { queueFromEnv } from '../queue-from-env.ts';
import { isWakeEvent } from '../scheduler/port.ts';
import { MAX_WAKE_WAIT_MS } from '../scheduler/wakeups.ts';
import type { Handlers, JobTypeMap, ProcessReport, WorkerEvent } from '../types.ts';
import { validateHandlerMap } from '../worker/process-options.ts';

/** Time kept free at the end of an invocation for writing outcomes and flushing metrics. */
export const SAFETY_MARGIN_MS = 5_000;

/**
 * Lambda's longest timeout. No invocation can run a job whose `timeoutMs` plus lease grace exceeds
 * it less the safety margin: such a job fails for good with `JobTimeoutExceedsBudgetError`
 * (`workerBudgetMs`) instead of being deferred by every invocation. A job that only misses what is
 * left of this invocation is deferred to a later one.
 */
export const LAMBDA_MAX_TIMEOUT_MS = 900_000;

/** The longest an idle invocation waits for a job known to become due (the tick fires every minute). */
export const MAX_WAIT_FOR_DUE_MS = 50_000;

/** What the worker returns: the drain's report and the backlog age it published. */
export interface WorkerResult extends ProcessReport {
  /** The queue this invocation drained. */
  readonly queue: string;
  /** Age of the oldest job still due and unclaimed after the drain, in ms (0 if none). */
  readonly oldestDueJobAgeMs: number;
}

/** Options of {@link createWorkerHandler}. */
export interface WorkerHandlerOptions {
  /**
   * Jobs one invocation runs at once.
   * @default `JOBTABLE_CONCURRENCY`, else 4
   */
  readonly concurrency?: number;
  /**
   * Time kept free before the invocation's deadline.
   * @default SAFETY_MARGIN_MS (5 s)
   */
  readonly safetyMarginMs?: number;
  /** Called with every worker event, after the built-in logging and metrics. @default none */
  readonly onEvent?: (event: WorkerEvent) => void;
  /** The queue to use (tests, or a client of your own). @default queueFromEnv() */
  readonly queue?: JobQueue<any>;
  /** Where the configuration comes from. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
}

/** The Lambda handler a worker function exports. */
export type WorkerHandler = (event: unknown, context: WorkerContext) => Promise<WorkerResult>;

/** The part of the Lambda context the worker reads. */
export interface WorkerContext {
  readonly awsRequestId: string;
  getRemainingTimeInMillis(): number;
}

/** Logger, metrics and event sink per drained queue (the queue is a metric dimension). */
function observabilityCache(extra: ((e: WorkerEvent) => void) | undefined) {
  const byQueue = new Map<string, ReturnType<typeof createObservability> & { onEvent: (e: WorkerEvent) => void }>();
  return (queue: string) => {
    let o = byQueue.get(queue);
    if (!o) {
      const base = createObservability({ queue });
      const sink = workerEventSink(base);
      o = { ...base, onEvent: extra ? (e) => (sink(e), extra(e)) : sink };
      byQueue.set(queue, o);
    }
    return o;
  };
}

/**
 * Builds the worker Lambda's handler around your job handlers. The configuration (table, shard
 * count, served queues) is read from the environment the `JobTable` construct sets, on the first
 * invocation.
 * @example
 * // worker.ts, the entry of your worker function
 * import { createWorkerHandler } from 'jobtable/lambda';
 * import { handlers } from './jobs.ts';
 * export const handler = createWorkerHandler(handlers);
 */
export function createWorkerHandler<M extends JobTypeMap = Record<string, any>>(handlers: Handlers<M>, options: WorkerHandlerOptions = {}): WorkerHandler {
  validateHandlerMap(handlers); // at module init: a bad map fails the deployment's first invocation, not every job
  let deployment: { readonly env: EnvQueueOptions; readonly queue: JobQueue<M> } | undefined;
  const observability = observabilityCache(options.onEvent);
  const safetyMarginMs = options.safetyMarginMs ?? SAFETY_MARGIN_MS;
  return async (event, context) => {
    const env = options.env ?? process.env;
    deployment ??= { env: queueOptionsFromEnv(env), queue: (options.queue as JobQueue<M> | undefined) ?? queueFromEnv<M>(env) };
    // A kick or wake-up names its queue, and its job may be due up to MAX_WAKE_WAIT_MS later (a
    // wake-up fires up to a minute before the job's minute); the tick of each queue names it too.
    const wake = isWakeEvent(event) ? event : undefined;
    const queueName = wake?.queue ?? deployment.env.queue;
    const { logger, metrics, onEvent } = observability(queueName);
    const budgetMs = Math.max(0, context.getRemainingTimeInMillis() - safetyMarginMs);
    const waitCap = wake && wake.reason !== 'tick' ? Math.max(MAX_WAIT_FOR_DUE_MS, MAX_WAKE_WAIT_MS) : MAX_WAIT_FOR_DUE_MS;
    try {
      const report = await deployment.queue.processJobs(handlers, {
        queue: queueName,
        concurrency: options.concurrency ?? deployment.env.concurrency,
        finishBy: Date.now() + budgetMs,
        timeBudgetMs: budgetMs,
        workerBudgetMs: LAMBDA_MAX_TIMEOUT_MS - safetyMarginMs,
        waitForDueWithinMs: Math.min(waitCap, budgetMs),
        workerId: `lambda-${context.awsRequestId}`,
        onEvent,
      });
      const ageMs = await oldestDueJobAgeMs(deployment.queue.store, queueName);
      metrics.addMetric(METRIC.oldestDueJobAge, MetricUnit.Milliseconds, ageMs);
      logger.info('drain finished', { ...report, oldestDueJobAgeMs: ageMs, requestId: context.awsRequestId });
      return { ...report, queue: queueName, oldestDueJobAgeMs: ageMs };
    } finally {
      metrics.publishStoredMetrics();
    }
  };
}
