/**
 * Names shared by the worker's metrics and the CDK alarms that watch them. Plain data with no
 * SDK imports, so `infra/` can import it without pulling in Powertools.
 */

/** The CloudWatch namespace of every jobtable metric. */
export const METRICS_NAMESPACE = 'jobtable';

/** Metric names, as they appear in CloudWatch. */
export const METRIC = {
  /** Jobs claimed by a worker (count). */
  jobsClaimed: 'JobsClaimed',
  /** Jobs that completed (count). */
  jobsCompleted: 'JobsCompleted',
  /** Attempts that failed and were scheduled for another attempt (count). */
  jobsRetried: 'JobsRetried',
  /** Jobs that failed for good: dead letters (count). */
  jobsFailed: 'JobsFailed',
  /** Outcomes discarded because another worker had re-claimed the job (count). */
  jobsStale: 'JobsStale',
  /** Store errors while writing an outcome (count). */
  workerErrors: 'WorkerErrors',
  /** Run time of one attempt (milliseconds). */
  jobDuration: 'JobDuration',
  /** From a job's due time to its claim (milliseconds). */
  pickupDelay: 'PickupDelay',
  /** Starts of due jobs delayed by a flow-control limit of the queue (count; the job stays pending). */
  jobsDelayedByLimit: 'JobsDelayedByLimit',
  /** Age of the oldest job still due and unclaimed after a drain (milliseconds; 0 if none). */
  oldestDueJobAge: 'OldestDueJobAge',
  /** FIFO jobs claimed: the heads of their groups (count). */
  fifoJobsClaimed: 'FifoJobsClaimed',
  /** FIFO jobs that failed an attempt and keep their group waiting through the backoff (count). */
  fifoGroupsHeldByRetry: 'FifoGroupsHeldByRetry',
  /** Debounced jobs claimed: one per quiet window of a key, however many enqueues it merged (count). */
  debouncedJobsRun: 'DebouncedJobsRun',
} as const;

/** Dimension names every jobtable metric carries. */
export const METRIC_DIMENSION = {
  /** Powertools' service dimension (the stage's service name, e.g. `jobtable-dev`). */
  service: 'service',
  /** The queue the worker drains. */
  queue: 'queue',
} as const;

/** Environment variables read by Powertools itself (the CDK construct sets them). */
export const POWERTOOLS_ENV = {
  /** Service name: the `service` key of logs and the `service` metric dimension. */
  serviceName: 'POWERTOOLS_SERVICE_NAME',
  /** Log level of the Powertools logger (`DEBUG`, `INFO`, `WARN`, `ERROR`). */
  logLevel: 'POWERTOOLS_LOG_LEVEL',
} as const;

/** The service name of a stage: `jobtable-<stage>`. */
export function serviceNameForStage(stage: string): string {
  return `jobtable-${stage}`;
}
