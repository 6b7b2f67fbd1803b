/**
 * jobtable: a background-job queue on DynamoDB for AWS serverless apps.
 * The public API of the runtime (`import ... from 'jobtable'`); nothing else lives here. The
 * Lambda handlers are in `jobtable/lambda`, the CDK constructs in `jobtable/cdk`, the local stack
 * in `jobtable/local`.
 */
export { JobQueue, MAX_NEW_ITEM_BYTES } from './queue.ts';
export { createJobsTable, jobsTableDefinition, tableExists } from './store/create-table.ts';
export { Priority, JOB_STATUSES } from './types.ts';
export type {
  BackoffOptions,
  Clock,
  DebounceOptions,
  EnqueuedJob,
  EnqueueOptions,
  EnqueueRequest,
  Handler,
  HandlerFn,
  HandlerObject,
  Handlers,
  Job,
  JobContext,
  JobPage,
  JobProgress,
  JobQueueOptions,
  JobStats,
  JobStatus,
  JobTypeMap,
  ListJobsOptions,
  ProcessJobsOptions,
  ProcessReport,
  RedriveFilter,
  RedriveOptions,
  RedriveProgress,
  RetentionOptions,
  TraceContext,
  WorkerEvent,
} from './types.ts';
export {
  EnqueueError,
  errorFromJSON,
  HandlerNotFoundError,
  InvalidCursorError,
  JobTableError,
  JobTimeoutError,
  LeaseLostError,
  PayloadTooLargeError,
  PermanentJobError,
  ReadOnlyError,
  TooManyTransactItemsError,
  TransactionConflictError,
  ValidationError,
} from './errors.ts';
export { JobTimeoutExceedsBudgetError } from './errors.ts';
export { WorkerShutdownError } from './worker/run-job.ts';
export { WorkerDeadlineError } from './errors.ts';
export type { EnqueueOutcome } from './errors.ts';
export type { FifoGroupState } from './store/fifo-groups.ts';
export { Worker } from './worker/worker.ts';
export type { WorkerOptions } from './worker/worker.ts';
export { ENV, parseQueueList, queueOptionsFromEnv } from './env.ts';
export type { EnvQueueOptions } from './env.ts';
export { queueFromEnv } from './queue-from-env.ts';
export * as schema from './schema.ts';
export { DEFAULTS, LIMITS, DEFAULT_RETENTION } from './model/validate.ts';
export { LambdaJobClient, fromEnqueueEvent, toErrorResponse, toJobEvent } from './client/index.ts';
export type { EnqueueBatchEvent, EnqueueEvent, EnqueueJobEvent, EnqueueResponse, InvokeOptions, LambdaJobClientOptions } from './client/index.ts';
export { createObservability, METRIC, METRIC_DIMENSION, METRICS_NAMESPACE, oldestDueJobAgeMs, workerEventSink } from './observability/index.ts';
export type { EventLogger, EventMetrics, ObservabilityOptions } from './observability/index.ts';
export { TRACE_ATTR, TRACER_NAME, traceparentFromXRay } from './observability/tracing.ts';
export { EventBridgeScheduler, schedulerFromEnv } from './scheduler/eventbridge.ts';
export type { EventBridgeSchedulerOptions } from './scheduler/eventbridge.ts';
export { LocalScheduler } from './scheduler/local.ts';
export type { LocalSchedulerOptions } from './scheduler/local.ts';
export { SchedulerNotConfiguredError, isWakeEvent, wakeEvent } from './scheduler/port.ts';
export type { RecurringJobOptions, RecurringSchedule, Scheduler, ScheduleOptions, WakeEvent, WakeReason } from './types.ts';
export { parseScheduleExpression, nextFireMs } from './scheduler/expression.ts';
export { MAX_WAKE_WAIT_MS } from './scheduler/wakeups.ts';
// Dependencies and fan-in (issue 13 part 1).
export { DependencyFailedError, DependencyNotFoundError } from './errors.ts';
export { childJobId, DEPENDENCY_LIMITS } from './model/dependencies.ts';
export type { ChildRequest, DependencyFailurePolicy, DependencyState, EnqueuedParent, EnqueueParentOptions } from './types.ts';
export { LimitsError } from './errors.ts';
export { validateLimits, validateQueueLimits, MAX_CONCURRENCY_LIMIT, MAX_RATE_PER_SECOND } from './model/limits.ts';
export type { GroupLimits, LimitsByQueue, QueueLimits, RateLimit } from './model/limits.ts';
export type { LimitedEvent } from './types.ts';
