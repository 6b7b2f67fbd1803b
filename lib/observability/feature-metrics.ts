/** The worker metrics of issue 12's features (FIFO groups, debounce), from worker events. */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { WorkerEvent } from '../types.ts';
import { METRIC } from './names.ts';
import type { EventMetrics } from './worker-events.ts';


/**
 * Adds the feature metrics an event implies: `FifoJobsClaimed` and `DebouncedJobsRun` on a claim,
 * `FifoGroupsHeldByRetry` when a FIFO job will retry (its group waits through the backoff).
 */
export function addFeatureMetrics(event: WorkerEvent, metrics: EventMetrics): void {
  if (event.kind === 'claimed') {
    if (typeof event.job.fifoSeq === 'number') metrics.addMetric(METRIC.fifoJobsClaimed, MetricUnit.Count, 1);
    if (typeof event.job.debounceKey === 'string') metrics.addMetric(METRIC.debouncedJobsRun, MetricUnit.Count, 1);
  } else if (event.kind === 'retrying' && typeof event.job.fifoSeq === 'number') {
    metrics.addMetric(METRIC.fifoGroupsHeldByRetry, MetricUnit.Count, 1);
  }
}
