/**
 * Turns the drain's {@link WorkerEvent}s into structured logs and EMF metrics. Works with the
 * Powertools `Logger` and `Metrics` (see `./powertools.ts`), or anything with the same methods.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Job, WorkerEvent } from '../types.ts';
import { METRIC } from './names.ts';
import { addFeatureMetrics } from './feature-metrics.ts';

/** The logger methods the sink uses (a Powertools `Logger` has them). */
export interface EventLogger {
  info(message: string, extra: Record<string, unknown>): void;
  warn(message: string, extra: Record<string, unknown>): void;
  error(message: string, extra: Record<string, unknown>): void;
}

/** The metrics method the sink uses (a Powertools `Metrics` has it). */
export interface EventMetrics {
  addMetric(name: string, unit: (typeof MetricUnit)[keyof typeof MetricUnit], value: number): unknown;
}

/** The keys every job log line carries: job id, type, queue and attempt. */
export function jobLogKeys(job: Job): { jobId: string; jobType: string; queue: string; attempt: number; maxAttempts: number } {
  return { jobId: job.id, jobType: job.type, queue: job.queue, attempt: job.attempts, maxAttempts: job.maxAttempts };
}

/**
 * An `onEvent` callback for `processJobs` that logs each event with the job's id, type and
 * attempt and records metrics: `JobsClaimed` and `PickupDelay` on claims, `JobsCompleted`,
 * `JobsRetried`, `JobsFailed` (dead letters) with `JobDuration` on outcomes, `JobsStale`,
 * `WorkerErrors`, and `JobsDelayedByLimit` (starts a flow-control limit delayed). Metrics are buffered: publish them after the drain (`metrics.publishStoredMetrics()`).
 *
 * @example
 * const report = await queue.processJobs(handlers, { onEvent: workerEventSink({ logger, metrics }) });
 * metrics.publishStoredMetrics();
 */
export function workerEventSink(sinks: { readonly logger: EventLogger; readonly metrics: EventMetrics }): (event: WorkerEvent) => void {
  const { logger, metrics } = sinks;
  return (event) => {
    addFeatureMetrics(event, metrics);
    switch (event.kind) {
      case 'claimed':
        metrics.addMetric(METRIC.jobsClaimed, MetricUnit.Count, 1);
        metrics.addMetric(METRIC.pickupDelay, MetricUnit.Milliseconds, event.pickupDelayMs);
        logger.info('job claimed', { ...jobLogKeys(event.job), pickupDelayMs: event.pickupDelayMs });
        return;
      case 'completed':
        metrics.addMetric(METRIC.jobsCompleted, MetricUnit.Count, 1);
        metrics.addMetric(METRIC.jobDuration, MetricUnit.Milliseconds, event.durationMs);
        logger.info('job completed', { ...jobLogKeys(event.job), durationMs: event.durationMs });
        return;
      case 'retrying':
        metrics.addMetric(METRIC.jobsRetried, MetricUnit.Count, 1);
        metrics.addMetric(METRIC.jobDuration, MetricUnit.Milliseconds, event.durationMs);
        logger.warn('job attempt failed, will retry', {
          ...jobLogKeys(event.job),
          durationMs: event.durationMs,
          retryAt: event.retryAt.toISOString(),
          error: event.error,
        });
        return;
      case 'failed':
        metrics.addMetric(METRIC.jobsFailed, MetricUnit.Count, 1);
        metrics.addMetric(METRIC.jobDuration, MetricUnit.Milliseconds, event.durationMs);
        logger.error('job failed for good (dead letter)', { ...jobLogKeys(event.job), durationMs: event.durationMs, error: event.error });
        return;
      case 'stale':
        metrics.addMetric(METRIC.jobsStale, MetricUnit.Count, 1);
        logger.warn('outcome discarded: the lease was lost to another worker', { ...jobLogKeys(event.job), outcome: event.outcome });
        return;
      case 'error':
        metrics.addMetric(METRIC.workerErrors, MetricUnit.Count, 1);
        logger.error('worker error', { ...(event.job ? jobLogKeys(event.job) : {}), error: event.error });
        return;
      case 'limited':
        // Not logged: a busy limit refuses many times a second; the metric carries it.
        metrics.addMetric(METRIC.jobsDelayedByLimit, MetricUnit.Count, 1);
        return;
    }
  };
}
