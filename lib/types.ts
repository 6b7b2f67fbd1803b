/**
 * The glossary of jobtable, and the types it exports.
 *
 * - **Job**: one unit of background work: a `type` (which handler runs it), a JSON `payload`,
 *   and the bookkeeping below. Stored as one DynamoDB item.
 * - **Queue**: a name that partitions jobs; a worker drains one queue. Default `"default"`.
 * - **Due time** (`runAt`): when a job may start. Jobs are never started before it.
 * - **Attempt**: one run of a handler for a job. `attempts` counts claims; `maxAttempts` caps them.
 * - **Claim**: the conditional write by which one worker takes a due job (status `processing`).
 * - **Lease**: how long a claim holds (`timeoutMs` plus a grace); when it runs out, another worker
 *   may claim the job again. `heartbeat()` extends it.
 * - **Fencing token** (`claim_token`): a fresh random value written by each claim; every later
 *   write by that worker for the job is conditional on it, so a stale worker cannot overwrite the
 *   outcome of a newer claim.
 * - **Shard**: one of N index partitions per queue, so that no index partition takes more writes
 *   than DynamoDB allows.
 * - **Dead letter**: a job that used all its attempts; status `failed`, redriven by `retryJob`.
 */
import type { DynamoDBClient, TransactWriteItem } from '@aws-sdk/client-dynamodb';
import type { LimitsByQueue } from './model/limits.ts';

/**
 * Job statuses. A job ends `completed`, `failed` or `cancelled`, or is still `pending`/`processing`,
 * or `waiting` for other jobs (its children, or the jobs named in `dependsOn`) before it is pending.
 */
export type JobStatus = 'waiting' | 'pending' | 'processing' | 'completed' | 'failed' | 'cancelled';

/** All job statuses, in lifecycle order. */
export const JOB_STATUSES: readonly JobStatus[] = ['waiting', 'pending', 'processing', 'completed', 'failed', 'cancelled'];

/** Named priorities. Any integer from -1000 to 1000 is allowed; higher runs first. */
export const Priority = { LOW: 0, NORMAL: 10, HIGH: 20, CRITICAL: 30 } as const;

/** Exponential backoff between attempts, with jitter. */
export interface BackoffOptions {
  /**
   * Delay before the first retry (the n-th retry waits up to `baseMs * 2^(n-1)`).
   * @default 1000
   */
  readonly baseMs?: number;
  /**
   * Upper bound of any one delay.
   * @default 300000 (5 minutes)
   */
  readonly maxMs?: number;
}

/** Options for {@link JobQueue.enqueue}. */
export interface EnqueueOptions {
  /**
   * When the job may start: a Date, epoch milliseconds, or an ISO-8601 string with a UTC offset
   * (`2030-01-01T09:00:00Z`, `2030-01-01T09:00:00-05:00`; a string without one is refused, as it
   * would be read in the producer's local time zone). Mutually exclusive with `delayMs`. @default now
   */
  readonly runAt?: Date | string | number;
  /** Start no earlier than this many milliseconds from now. @default 0 */
  readonly delayMs?: number;
  /** Higher runs first; an integer from -1000 to 1000. @default Priority.NORMAL (10) */
  readonly priority?: number;
  /** Queue name. @default "default" */
  readonly queue?: string;
  /** Attempts before the job fails for good (the dead-letter state). @default 3 */
  readonly maxAttempts?: number;
  /** Time an attempt may take before its signal aborts and it counts as failed. @default 60000 */
  readonly timeoutMs?: number;
  /** Retry backoff. @default { baseMs: 1000, maxMs: 300000 } */
  readonly backoff?: BackoffOptions;
  /**
   * Deduplication key: the same key in the same queue returns the existing job's id and creates
   * nothing, for as long as that job's record exists (until its retention expires).
   */
  readonly idempotencyKey?: string;
  /**
   * The W3C trace context the job continues (e.g. an incoming request's `traceparent` header).
   * With `@opentelemetry/api` installed it is the parent of the enqueue span and the job records
   * that span's context; without it the job records this context as given. Each attempt's span
   * links to what the job recorded. @default the active OpenTelemetry context, if any
   */
  readonly trace?: TraceContext;
  /**
   * The job's group (a tenant, a customer...): 1 to 128 characters of `A-Z a-z 0-9 _ . : @ / -`.
   * Per-group limits of the queue ({@link QueueLimits}) count the jobs of each group apart.
   * @default none (the job counts only towards queue-wide limits)
   */
  readonly group?: string;
  /**
   * Debounce (trailing): enqueues with the same `key` in the same queue, each within `windowMs` of
   * the one before, leave ONE pending job carrying the last enqueue's type, payload and options; it
   * becomes due once no enqueue with the key came for `windowMs`. An enqueue arriving while that
   * job already runs starts a new pending job. Returns the id of the job that will run the payload.
   * Not with `idempotencyKey`, `runAt` or `delayMs` (refused with a `ValidationError`).
   * See docs/design.md, "Debounce". @default none
   */
  readonly debounce?: DebounceOptions;
  /**
   * Ids of jobs (1 to 100, any queue) this one waits for: it is `waiting` until every one of them
   * has finished, then pending. Ids of jobs that already finished count as finished; an id with no
   * record (never enqueued, or its retention expired) is a `DependencyNotFoundError`, with nothing
   * written. Results: `ctx.dependencies()`. @default none
   */
  readonly dependsOn?: readonly string[];
  /**
   * What a dependency that fails for good (or is cancelled) does to this job: `fail` (it fails too,
   * without running, with a `DependencyFailedError` naming the dependency) or `continue` (it runs
   * once all have finished, the failure visible in `ctx.dependencies()`). @default "fail"
   */
  readonly onDependencyFailure?: DependencyFailurePolicy;
}

/** What a failed dependency or child does to the job waiting for it (see {@link EnqueueOptions.onDependencyFailure}). */
export type DependencyFailurePolicy = 'fail' | 'continue';

/**
 * What a job waits for, as counted so far (see {@link Job.dependencies}). `done + failed + left = total`.
 */
export interface DependencyState {
  /** `children`: a parent of a fan-in; `jobs`: a job enqueued with `dependsOn`. */
  readonly kind: 'children' | 'jobs';
  readonly total: number;
  /** Finished successfully. */
  readonly done: number;
  /** Failed for good or cancelled. */
  readonly failed: number;
  /** Not finished yet. */
  readonly left: number;
  readonly onFailure: DependencyFailurePolicy;
  /** The first one that failed, if any. */
  readonly firstFailedId: string | null;
  /** A parent whose enqueue was interrupted before all its children were written (retry it with the same idempotency key). */
  readonly incomplete: boolean;
  /** The `dependsOn` ids (kind `jobs`); null for a parent (child `i`'s id is `childJobId(parentId, i)`). */
  readonly ids: readonly string[] | null;
}

/** One child of {@link JobQueue.enqueueParent}: its own type, payload and options (no idempotency key: its id derives from the parent's). */
export interface ChildRequest<T extends string = string, P = unknown> {
  readonly type: T;
  readonly payload: P;
  readonly options?: Omit<EnqueueOptions, 'idempotencyKey' | 'dependsOn' | 'onDependencyFailure'>;
}

/** Options of {@link JobQueue.enqueueParent}: the parent's enqueue options, and what a failed child does. */
export interface EnqueueParentOptions extends Omit<EnqueueOptions, 'dependsOn' | 'onDependencyFailure'> {
  /** `fail` (a child that fails for good fails the parent, and its pending children are cancelled) or `continue`. @default "fail" */
  readonly onChildFailure?: DependencyFailurePolicy;
}

/** What {@link JobQueue.enqueueParent} wrote. */
export interface EnqueuedParent {
  /** The parent's id. */
  readonly id: string;
  /** The children's ids, in the order given. */
  readonly childIds: readonly string[];
}

/** A debounce key and its quiet window (see {@link EnqueueOptions.debounce}). */
export interface DebounceOptions {
  /** 1 to 128 characters of `A-Z a-z 0-9 _ . : @ / -`; a namespace per queue. */
  readonly key: string;
  /** How long the key must stay quiet before the job runs, 1 ms to 1 day (`LIMITS.debounceWindowMsMax`). */
  readonly windowMs: number;
}

/** A W3C trace context (https://www.w3.org/TR/trace-context/): the `traceparent` and `tracestate` headers' values. */
export interface TraceContext {
  /** `00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>` */
  readonly traceparent: string;
  /** Vendor entries, at most 512 characters. */
  readonly tracestate?: string;
}

/** Progress reported by a running job. */
export interface JobProgress {
  readonly current: number;
  readonly total?: number;
  readonly message?: string;
  readonly updatedAt: Date;
}

/** A job as read back from the table. */
export interface Job<P = unknown, R = unknown> {
  readonly id: string;
  readonly type: string;
  readonly queue: string;
  readonly payload: P;
  readonly status: JobStatus;
  readonly priority: number;
  /** Attempts started so far (claims). */
  readonly attempts: number;
  readonly maxAttempts: number;
  readonly timeoutMs: number;
  readonly backoff: Required<BackoffOptions>;
  readonly runAt: Date;
  readonly createdAt: Date;
  readonly startedAt: Date | null;
  readonly finishedAt: Date | null;
  /** Message of the last error, kept when the job is retried or fails for good. */
  readonly error: string | null;
  readonly result: R | null;
  readonly progress: JobProgress | null;
  readonly idempotencyKey: string | null;
  /** Until when the current claim holds (processing jobs). */
  readonly leaseUntil: Date | null;
  /** When the record may be deleted by TTL (finished jobs). */
  readonly expiresAt: Date | null;
  /** The trace context recorded at enqueue, which each attempt's span links to (null if none). */
  readonly trace: TraceContext | null;
  /** What it waits (or waited) for: its children, or its `dependsOn` jobs; null for a job that never waited. */
  readonly dependencies: DependencyState | null;
  /** The parent, for a child of a fan-in; else null. */
  readonly parentId: string | null;
  /** Jobs waiting for this one (its parent, jobs enqueued with `dependsOn` naming it). */
  readonly dependents: readonly string[];
  /** True once its final outcome was counted by every job in `dependents`. */
  readonly dependentsNotified: boolean;
  /** The job's group (see {@link EnqueueOptions.group}), or null. */
  readonly group: string | null;
  /** The debounce key the job was enqueued with (see {@link EnqueueOptions.debounce}), or null. */
  readonly debounceKey: string | null;
  /** A FIFO job's position in its group (1, 2, ...), or null (see `limits`, `group.fifo`). */
  readonly fifoSeq: number | null;
}

/** Input of {@link JobQueue.enqueueMany}. */
export interface EnqueueRequest<T extends string = string, P = unknown> {
  readonly type: T;
  readonly payload: P;
  readonly options?: EnqueueOptions;
}

/** How long finished jobs are kept before TTL deletes them. */
export interface RetentionOptions {
  /** @default 7 days */
  readonly completedMs?: number;
  /** @default 30 days */
  readonly failedMs?: number;
  /** @default 30 days */
  readonly cancelledMs?: number;
}

/** A source of time, injectable for tests. */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}

/** Options for {@link JobQueue}. */
export interface JobQueueOptions {
  /** The jobs table. */
  readonly tableName: string;
  /** A DynamoDB client; its endpoint may be DynamoDB Local. */
  readonly client: DynamoDBClient;
  /** Write shards per queue; producers and workers must agree. @default DEFAULT_SHARD_COUNT (16) */
  readonly shardCount?: number;
  /** Retention of finished jobs. */
  readonly retention?: RetentionOptions;
  /** @default the system clock */
  readonly clock?: Clock;
  /** @default Math.random */
  readonly random?: () => number;
  /**
   * The queues this deployment serves (each has a worker and a minute tick). When set, an enqueue
   * to any other queue is refused with a `ValidationError` naming `options.queue`, since no worker
   * would ever run it. @default undefined (any queue is accepted)
   */
  readonly queues?: readonly string[];
  /**
   * The job types the workers know (their handlers' keys). When set, an enqueue of any other type
   * is refused with a `ValidationError` naming `type`. @default undefined (any type is accepted)
   */
  readonly jobTypes?: readonly string[];
  /** Called after jobs are written, e.g. to wake a worker (prompt pickup). */
  readonly onEnqueued?: (jobs: readonly EnqueuedJob[]) => void;
  /**
   * Flow-control limits per queue name: `{ emails: { concurrency: 10, group: { concurrency: 2,
   * rate: { limit: 20, intervalMs: 1000 } } } }`; FIFO per group: `{ orders: { group: { fifo: true } } }`
   * (see docs/design.md, "FIFO per group": every producer of the queue must be given it; workers
   * follow each job's item). `processJobs` enforces the limits of the queue it drains, across every
   * worker; all workers of a queue must be given the same. Checked here: invalid limits throw a
   * `LimitsError` naming the field. @default none
   */
  readonly limits?: LimitsByQueue;
  /**
   * Where recurring schedules live (`schedule`, `unschedule`, `listSchedules`): an
   * `EventBridgeScheduler` in AWS, a `LocalScheduler` locally. @default none (those methods throw)
   */
  readonly scheduler?: Scheduler;
}

/** What {@link JobQueueOptions.onEnqueued} is told about each new job. */
export interface EnqueuedJob {
  readonly id: string;
  readonly queue: string;
  readonly type: string;
  readonly runAt: Date;
  readonly shard: number;
}

/** Options for {@link JobQueue.listJobs}. */
export interface ListJobsOptions {
  readonly status: JobStatus;
  /** @default "default" */
  readonly queue?: string;
  /** Page size, 1 to 1000. @default 50 */
  readonly limit?: number;
  /** The `cursor` of the previous page. */
  readonly cursor?: string;
  /**
   * Only jobs of this type. The index does not hold the type, so the filter applies to the jobs
   * read: a page may hold fewer than `limit` jobs (even none) while `cursor` leads on.
   */
  readonly type?: string;
  /**
   * Only jobs of this group. The group is projected into the index, so for pending, processing,
   * failed and cancelled jobs the index query filters it (no job read); a page may hold fewer than
   * `limit` jobs while `cursor` leads on.
   */
  readonly group?: string;
}

/** A page of {@link JobQueue.listJobs}. */
export interface JobPage {
  readonly jobs: Job[];
  /** Present while more pages may follow. */
  readonly cursor?: string;
}

/** Counts of a queue's jobs, from {@link JobQueue.stats}. */
export interface JobStats {
  readonly queue: string;
  /** Jobs by status (records whose retention has expired are not counted). */
  readonly counts: Readonly<Record<JobStatus, number>>;
  /** Sum of `counts`. */
  readonly total: number;
  /** Due time of the oldest pending job that is due now, or null if none is due. */
  readonly oldestDueAt: Date | null;
  /** How long that job has been waiting past its due time, in ms (null if none is due). */
  readonly oldestDueAgeMs: number | null;
  /** When the counts were taken. */
  readonly countedAt: Date;
}

/** What a handler gets besides the payload. */
export interface JobContext<P = unknown> {
  /** The job as claimed (attempts already counts this attempt). */
  readonly job: Job<P>;
  /** 1 for the first attempt. */
  readonly attempt: number;
  /**
   * Aborted at the job's timeout (always before its lease ends, by the lease grace), when the
   * lease is lost, when the worker shuts down, or before the worker's `finishBy`.
   */
  readonly signal: AbortSignal;
  /**
   * Reports progress. Writes at most about once a second; the last value is always written with
   * the outcome. Resolves `false` if this worker no longer holds the job. A transient DynamoDB
   * failure (throttling, a 5xx, no answer, past the SDK's retries) never throws into the handler:
   * the report is kept and written with the outcome, and this resolves `true`.
   */
  progress(current: number, total?: number, message?: string): Promise<boolean>;
  /**
   * Extends the lease (and the timeout) to `timeoutMs` from when the heartbeat is sent, never past
   * the worker's `finishBy`. Heartbeats run one at a time (a call made while one is in flight
   * shares it). Resolves `false` if the lease is lost. A transient DynamoDB failure is resent
   * (the new lease is computed before the first send, so a resend cannot stretch it) until the
   * current deadline; if it still fails, this resolves `false` without throwing and the old lease
   * and deadline stand (the signal aborts at the old deadline).
   */
  heartbeat(): Promise<boolean>;
  /**
   * Exactly-once effects: completes the job with `result` AND applies `items` (the handler's own
   * writes: TransactWriteItems `Put`, `Update`, `Delete` or `ConditionCheck` actions on the
   * application's tables, same account and region, values in DynamoDB JSON, e.g. from
   * `marshall` of `@aws-sdk/util-dynamodb`) in one DynamoDB transaction, conditional on this
   * worker still holding the job. Either both happen or neither; a worker whose lease was taken
   * over can never apply them, and a resend after a lost answer never applies them twice.
   *
   * Once it resolves the job is completed: return from the handler (its return value is ignored).
   * At most 99 items, 4 MB in total, none of them the job's own item. Each item costs 2 write
   * units per KB, the completion too (2 instead of 1).
   *
   * @throws TransactionConflictError a condition of `items[e.index]` failed: nothing written.
   *   Uncaught, the attempt fails like any error (retried with backoff, or failed for good on its
   *   last attempt).
   * @throws LeaseLostError this worker no longer holds the job: nothing written, the outcome is
   *   stale (another attempt runs or ran the job).
   * @throws TooManyTransactItemsError, ValidationError bad items: nothing written.
   */
  completeWith(items: readonly TransactWriteItem[], result?: unknown): Promise<void>;
  /**
   * The jobs this one waited for, as they are now: a parent's children in the order they were
   * given, or the `dependsOn` jobs in the order named (their `status`, `result` and `error`). A job
   * whose record is gone (its retention expired) is `null`. Empty for a job that never waited.
   * Cost: one strongly consistent read per job (1 read unit per 4 KB), 100 per BatchGetItem.
   */
  dependencies(): Promise<Array<Job | null>>;
}

/** A job handler: returns the job's result (JSON-serialisable) or throws to fail the attempt. */
export type HandlerFn<P = any, R = unknown> = (payload: P, ctx: JobContext<P>) => R | Promise<R>;

/** A handler with a hook for final failure. */
export interface HandlerObject<P = any, R = unknown> {
  readonly handler: HandlerFn<P, R>;
  /** Called once when the job fails for good (no attempts left), with the last error. */
  readonly onFailed?: (error: Error, job: Job<P>) => void | Promise<void>;
}

/** A handler or a handler object. */
export type Handler<P = any, R = unknown> = HandlerFn<P, R> | HandlerObject<P, R>;

/** A map of job types to payload types, used to type queues and handlers. */
export type JobTypeMap = Record<string, unknown>;

/**
 * Handlers for the job types of a map. Keys are optional, so one worker may serve a subset of the
 * types; a job whose type has no handler fails with `HandlerNotFoundError` (and the local stack
 * refuses such a type at enqueue).
 */
export type Handlers<M extends JobTypeMap = JobTypeMap> = { [K in keyof M]?: Handler<M[K]> };

/** Events the worker emits, for logs and metrics. */
export type WorkerEvent =
  | { readonly kind: 'claimed'; readonly job: Job; readonly pickupDelayMs: number }
  | { readonly kind: 'completed'; readonly job: Job; readonly durationMs: number }
  | { readonly kind: 'retrying'; readonly job: Job; readonly error: Error; readonly retryAt: Date; readonly durationMs: number }
  | { readonly kind: 'failed'; readonly job: Job; readonly error: Error; readonly durationMs: number }
  | { readonly kind: 'stale'; readonly job: Job; readonly outcome: 'completed' | 'failed' }
  | { readonly kind: 'error'; readonly error: Error; readonly job?: Job }
  | LimitedEvent;

/**
 * A due job whose start a flow-control limit of its queue delayed (see `QueueLimits`): nothing
 * was written to the job (or, for a claimed job that came to its rate slot too late and found no
 * other start in time, it was given back unstarted: pending again, its attempt not counted); the
 * worker leaves the limit's key alone until `retryAt` and claims other jobs meanwhile. The
 * `JobsDelayedByLimit` metric counts these; `ProcessReport.limited` counts those refused before
 * a claim.
 */
export interface LimitedEvent {
  readonly kind: 'limited';
  readonly jobId: string;
  readonly queue: string;
  /** The job's group, or null. */
  readonly group: string | null;
  /** Which limit refused: all slots taken (`concurrency`) or no start free soon enough (`rate`). */
  readonly limit: 'concurrency' | 'rate';
  /** The queue-wide limit or the job's group's. */
  readonly scope: 'queue' | 'group';
  /** When this worker tries the key again. */
  readonly retryAt: Date;
}

/** Options for {@link JobQueue.processJobs}. */
export interface ProcessJobsOptions {
  /** @default "default" */
  readonly queue?: string;
  /** Jobs run at once. @default 4 */
  readonly concurrency?: number;
  /** Stop claiming after this many claims. @default unlimited */
  readonly maxJobs?: number;
  /** Stop claiming after this long; running jobs finish. @default unlimited */
  readonly timeBudgetMs?: number;
  /**
   * Epoch ms by which every claimed job must be able to finish: a job is claimed only if its
   * timeout (plus grace) ends before this (a Lambda passes its deadline), heartbeats never extend
   * a lease past it, and a handler still running `leaseGraceMs` before it is aborted with a
   * `WorkerDeadlineError` (a failed attempt). @default none
   */
  readonly finishBy?: number;
  /**
   * The whole time any drain of this worker gets, in ms, when every drain starts with all of it
   * (a Lambda calling `processJobs` as its invocation starts: the function's timeout less its
   * safety margin). A due job whose `timeoutMs` plus lease grace exceeds it could never finish
   * here, and `finishBy` would defer it in every drain forever: it is failed for good instead, with
   * a `JobTimeoutExceedsBudgetError` naming both. A job that only misses the time left in this
   * drain (`finishBy`) is still deferred to a later one. Leave unset if workers with more time
   * serve the queue too. @default none (no job is failed for its timeout)
   */
  readonly workerBudgetMs?: number;
  /** Grace added to `timeoutMs` to make the lease; at most 2000. @default 2000 */
  readonly leaseGraceMs?: number;
  /** Identifies this worker in the item. @default a random id */
  readonly workerId?: string;
  /** Aborting stops claiming and aborts running handlers' signals. */
  readonly signal?: AbortSignal;
  /** Candidates read per shard query (1 to 100). @default 50 */
  readonly batchSize?: number;
  /** Receives worker events (claims, completions, retries, failures, errors). */
  readonly onEvent?: (event: WorkerEvent) => void;
  /**
   * When nothing is due, wait for a job known to be due within this many ms (a delayed job or a
   * retry) instead of returning; return if none is. A Lambda drain passes its remaining time.
   * @default 0 (return as soon as nothing is due)
   */
  readonly waitForDueWithinMs?: number;
  /**
   * Keep running: when nothing is due, sleep until the next known due time, a wake-up, or this
   * interval, then look again; return only on `maxJobs`, `timeBudgetMs` or `signal`. For
   * long-running workers. @default 0 (return as soon as nothing is due)
   */
  readonly pollIntervalMs?: number;
  /** After `signal` aborts, how long running jobs may finish before they are aborted and released. @default 5000 */
  readonly shutdownGraceMs?: number;
  /**
   * Flow-control limits per queue name (concurrency and rate, queue-wide and per group), enforced
   * across every worker: every worker of a queue must be given the same. Overrides the queue's
   * own `JobQueueOptions.limits` for the drained queue. @default the queue's `limits`, else none
   */
  readonly limits?: LimitsByQueue;
}

/** What a drain did. */
export interface ProcessReport {
  readonly claimed: number;
  readonly completed: number;
  readonly retried: number;
  readonly failed: number;
  /** Outcomes discarded because this worker had lost the job (lease expired and re-claimed). */
  readonly stale: number;
  /** Claims that another worker won first (a failed conditional write). */
  readonly lostRaces: number;
  /** Index queries made. */
  readonly queries: number;
  /** Due jobs left unclaimed because their timeout would not end before `finishBy`. */
  readonly deferred: number;
  /** Starts a flow-control limit delayed (each refusal counts; the job stays pending). */
  readonly limited: number;
  readonly durationMs: number;
  readonly stoppedBecause: 'drained' | 'maxJobs' | 'timeBudget' | 'aborted';
}

/**
 * Which jobs a bulk redrive ({@link JobQueue.redrive}) puts back to pending: the dead letters
 * (or cancelled jobs) of one queue, narrowed by type, error text and time ranges. Time bounds are
 * a Date, an ISO-8601 string or epoch ms; `...After` is inclusive, `...Before` exclusive.
 */
export interface RedriveFilter {
  /** @default "default" */
  readonly queue?: string;
  /** Dead letters (`failed`) or `cancelled` jobs. @default "failed" */
  readonly status?: 'failed' | 'cancelled';
  /** Only jobs of this type. */
  readonly type?: string;
  /** Only jobs of this group (`options.group` at enqueue). */
  readonly group?: string;
  /** Only jobs whose last error contains this text (case-sensitive), 1 to 1000 characters. */
  readonly errorContains?: string;
  /** Only jobs that failed (or were cancelled) at or after this time. */
  readonly finishedAfter?: Date | string | number;
  /** Only jobs that failed (or were cancelled) before this time. */
  readonly finishedBefore?: Date | string | number;
  /** Only jobs enqueued at or after this time. */
  readonly createdAfter?: Date | string | number;
  /** Only jobs enqueued before this time. */
  readonly createdBefore?: Date | string | number;
}

/** Options of {@link JobQueue.redrive}. */
export interface RedriveOptions {
  /**
   * The `cursor` of an earlier call with the same filter: continues that redrive after the last
   * page it finished. A job is put back at most once per redrive, however often it is resumed.
   */
  readonly cursor?: string;
  /** Aborting stops the redrive after the page in flight; the result's `cursor` resumes it. */
  readonly signal?: AbortSignal;
  /** Called after each page with the counts so far (and the cursor to resume from). */
  readonly onProgress?: (progress: RedriveProgress) => void;
  /** Examine at most this many jobs in this call, then return with a `cursor`. @default no limit */
  readonly maxJobs?: number;
  /** Only count the jobs that match: nothing is written. @default false */
  readonly dryRun?: boolean;
  /** Jobs examined per page (one index query and one BatchGetItem), 1 to 100. @default 100 */
  readonly pageSize?: number;
  /** Conditional writes in flight, 1 to 64. @default 8 */
  readonly concurrency?: number;
}

/** Counts of a redrive so far (cumulative over resumed calls). */
export interface RedriveProgress {
  /** Identifies this redrive; it is recorded on each job it puts back (`redrive_id`). */
  readonly redriveId: string;
  /** The redrive covers jobs that finished up to this time; later failures are left to a new redrive. */
  readonly asOf: Date;
  /** Jobs in the queue's lane and finished-time range when the redrive began (before type, error and created filters). */
  readonly candidates: number;
  /** Jobs read so far. */
  readonly examined: number;
  /** Jobs that matched the filter when read. */
  readonly matched: number;
  /** Jobs put back to pending. */
  readonly redriven: number;
  /** Matched jobs left alone: they changed state after the read, or this redrive had already put them back. */
  readonly skipped: number;
  /** True when every candidate was examined. */
  readonly complete: boolean;
  /** Pass it back (with the same filter) to continue; absent once complete. */
  readonly cursor?: string;
  /** True for a dry run (nothing written). */
  readonly dryRun: boolean;
}

/** Re-exported for convenience. */
export type { DynamoDBClient };

// ---- The scheduler port (adapters in lib/scheduler/) ----

/**
 * Options of a recurring job: the enqueue options of every job it creates (except the due time
 * and the idempotency key, which each firing sets), plus the time zone of a cron expression.
 */
export interface ScheduleOptions extends Omit<EnqueueOptions, 'runAt' | 'delayMs' | 'idempotencyKey' | 'trace' | 'debounce' | 'group'> {
  /**
   * IANA time zone in which a `cron()` expression is read (daylight saving included).
   * @default "UTC"
   */
  readonly timezone?: string;
  /** Free text shown in the console and in `listSchedules()`. @default none */
  readonly description?: string;
}

/** The enqueue options a recurring schedule stores, with defaults applied. */
export interface RecurringJobOptions {
  readonly queue: string;
  readonly priority: number;
  readonly maxAttempts: number;
  readonly timeoutMs: number;
  readonly backoff: Required<BackoffOptions>;
}

/** A validated recurring schedule, as stored by a scheduler and returned by `listSchedules()`. */
export interface RecurringSchedule {
  /** Unique name: 1 to 48 characters of `A-Z a-z 0-9 _ - .`. */
  readonly name: string;
  /** `rate(5 minutes)` or `cron(0 2 * * ? *)` (EventBridge Scheduler syntax). */
  readonly expression: string;
  /** IANA time zone of the expression. */
  readonly timezone: string;
  /** Job type enqueued on each firing. */
  readonly type: string;
  /** Payload of each job (JSON). */
  readonly payload: unknown;
  readonly options: RecurringJobOptions;
  readonly description?: string;
}

/** Why a worker is woken, for logs. */
export type WakeReason = 'enqueued' | 'wake-up' | 'tick';

/**
 * The event a wake-up, a kick and the minute tick send to the worker Lambda (and that the local
 * scheduler passes to its `wake` callback): drain `queue` now.
 */
export interface WakeEvent {
  readonly source: 'jobtable.wake';
  readonly queue: string;
  readonly reason: WakeReason;
  /** Shards holding the jobs that caused a kick: a worker may read these first. */
  readonly shards?: readonly number[];
}

/**
 * The scheduler port. Both adapters implement it; tests and the local stack swap one for the other.
 */
export interface Scheduler {
  /**
   * True if `rate()` may use seconds (`rate(2 seconds)`). Only the local emulation allows it, for
   * tests; EventBridge Scheduler's shortest rate is one minute.
   */
  readonly allowSecondRates: boolean;
  /** Creates the recurring schedule, or replaces the one of the same name. */
  putRecurring(schedule: RecurringSchedule): Promise<void>;
  /** Deletes a recurring schedule; false if there was none of that name. */
  deleteRecurring(name: string): Promise<boolean>;
  /** All recurring schedules, sorted by name. */
  listRecurring(): Promise<RecurringSchedule[]>;
  /**
   * Makes sure the worker of `queue` is woken at `atMs` (epoch ms). Idempotent: wake-ups are
   * coalesced by time bucket, so asking twice for the same bucket creates one.
   */
  wakeAt(queue: string, atMs: number): Promise<void>;
}
