/**
 * THE jobs-table definition: table key, index, attribute names, shard count and TTL attribute.
 *
 * Plain data with no SDK imports, so that the runtime store (`lib/store`), the local stack
 * (`lib/local`) and the CDK construct (`infra/`) all build the same table from it.
 * See `docs/design.md` for why the index is shaped this way.
 */

/** Attribute names of a job item, exactly as they appear in the DynamoDB console. */
export const ATTR = {
  /** Partition key of the table: the job id (a UUID). */
  id: 'id',
  type: 'type',
  queue: 'queue',
  /** The payload as a native DynamoDB map (or list, string, number...). */
  payload: 'payload',
  status: 'status',
  priority: 'priority',
  attempts: 'attempts',
  maxAttempts: 'max_attempts',
  timeoutMs: 'timeout_ms',
  backoffBaseMs: 'backoff_base_ms',
  backoffMaxMs: 'backoff_max_ms',
  idempotencyKey: 'idempotency_key',
  /** ISO-8601 times, readable in the console. */
  createdAt: 'created_at',
  runAt: 'run_at',
  startedAt: 'started_at',
  finishedAt: 'finished_at',
  updatedAt: 'updated_at',
  /** ISO time until which the current claim holds; projected into the index. */
  leaseUntil: 'lease_until',
  /** Fencing token of the current claim: every write by the claiming worker is conditional on it. */
  claimToken: 'claim_token',
  /**
   * A random id of the last fenced write (unique per call, the same on the SDK's retries of it), so
   * that a retry of a write that already landed can recognise it as its own.
   */
  lastFencedWrite: 'last_fenced_write',
  /** Which worker holds the claim (informational). */
  workerId: 'worker_id',
  error: 'error',
  result: 'result',
  progress: 'progress',
  /** Epoch seconds at which DynamoDB TTL may delete a finished job. */
  ttl: 'ttl',
  /** The same instant as `ttl`, as ISO-8601 for people. */
  expiresAt: 'expires_at',
  /** Index partition key: `<queue>#<lane>#<shard>`. Absent on completed jobs (sparse index). */
  statusShard: 'status_shard',
  /** Index sort key: the order in which jobs of one shard are taken (see {@link encodeReadyOrder}). */
  runOrder: 'run_order',
  /** Id of the last bulk redrive that put this job back to pending: a redrive does so at most once per job. */
  redriveId: 'redrive_id',
  /** W3C `traceparent` of the context the job was enqueued in; each attempt's span links to it. */
  traceParent: 'trace_parent',
  /** W3C `tracestate` that came with {@link ATTR.traceParent}, if any. */
  traceState: 'trace_state',
  // ---- Dependencies and fan-in (issue 13 part 1; docs/design.md, "Dependencies and fan-in") ----
  /** Ids of the jobs waiting for this one (its parent, and jobs enqueued with `dependsOn` naming it). */
  dependents: 'dependents',
  /** True once this job's final outcome was counted by every job in {@link ATTR.dependents}. */
  dependentsNotified: 'dependents_notified',
  /** The parent of a child of a fan-in. */
  parentId: 'parent_id',
  /** Position of a child among its parent's children (its id is derived from the parent's id and it). */
  childIndex: 'child_index',
  /** Of a waiting job: how many jobs it waits for in all (children, or `dependsOn` ids). */
  depsTotal: 'deps_total',
  /** Of a waiting job: how many of them have not finished yet. It runs when this reaches 0. */
  depsLeft: 'deps_left',
  /** Of a waiting job: how many of them failed for good or were cancelled. */
  depsFailed: 'deps_failed',
  /** Of a waiting job: the first of them that failed. */
  firstFailedDep: 'first_failed_dep',
  /** Of a waiting job: `fail` (a failed dependency fails it) or `continue` (it runs anyway). */
  onDepFailure: 'on_dep_failure',
  /** Of a parent: its number of children. */
  childCount: 'child_count',
  /** Of a parent: true once all its children were written (false while an enqueue is half done). */
  childrenWritten: 'children_written',
  /** Of a job enqueued with `dependsOn`: the ids it waits for, in the order given. */
  dependsOn: 'depends_on',
  /** Of a job enqueued with `dependsOn`: the ids its enqueue counted itself (already finished), each once. */
  settledDeps: 'settled_deps',
  /**
   * The job's group (a tenant, a customer...): what per-group limits count. Set at enqueue, never
   * changed; projected into the index. A DynamoDB reserved word: always use a name placeholder.
   */
  group: 'group',
  /** Debounce key of a debounced job (issue 12): enqueues with the same key in a queue merge into one pending job. */
  debounceKey: 'debounce_key',
  /**
   * Order stamp of the enqueue whose payload the debounced job carries (`<ms>#<seq>#<rand>`, see
   * `DebounceStamper`): a merge applies only if its stamp is greater, so a slower older enqueue never
   * overwrites a newer payload.
   */
  debounceOrder: 'debounce_order',
  /**
   * On a pointer item: the job it names. A debounce key's (`debounce#<queue>#<key>`): the key's
   * latest job; a FIFO job's idempotency key's (`fifo-key#<queue>#<key>`): the job enqueued with it.
   */
  pointsTo: 'points_to',
  /**
   * Position of a FIFO job in its group (1, 2, ...), assigned at enqueue in the same transaction
   * that counts it on the group's item; the job's id is derived from (queue, group, seq).
   */
  fifoSeq: 'fifo_seq',
  /** On a FIFO group item (`fifo#<queue>#<group>`): the last position handed out. */
  enqSeq: 'enq_seq',
  /** On a FIFO group item: the position of the job allowed to run (> enq_seq: the group is idle). */
  headSeq: 'head_seq',
} as const;

/** The table name of a stage: `jobtable-<stage>-jobs` (the local stack uses stage `local`). */
export function tableNameForStage(stage: string): string {
  return `jobtable-${stage}-jobs`;
}

/** The jobs table and its one global secondary index. */
export const TABLE = {
  /** Name of the sharded, sparse status/run_at index. */
  indexName: 'status-run_at',
  partitionKey: ATTR.id,
  indexPartitionKey: ATTR.statusShard,
  indexSortKey: ATTR.runOrder,
  /**
   * Non-key attributes copied into the index. Only attributes that change on transitions
   * which already rewrite the index entry, so projecting them costs no extra index writes.
   */
  indexProjection: [ATTR.status, ATTR.leaseUntil, ATTR.timeoutMs, ATTR.group] as readonly string[],
  ttlAttribute: ATTR.ttl,
} as const;

/**
 * Default number of write shards per queue. Each shard is one index partition key value, which
 * DynamoDB caps at 1,000 write units/s; a job costs 3 index writes on its happy path, so 16
 * shards carry about 5,300 jobs/s per queue. Producers and consumers must agree on it.
 * See docs/design.md, "Partition arithmetic".
 */
export const DEFAULT_SHARD_COUNT = 16;

/** The largest shard count a queue may use (two-digit shard suffix). */
export const MAX_SHARD_COUNT = 100;

/**
 * Index lanes. Pending and processing jobs share the `due` lane, so that a claim does not move
 * an item between partitions; failed and cancelled jobs each get a lane so they can be listed.
 * Completed jobs leave the index altogether.
 */
export const LANE = {
  due: 'due',
  failed: 'failed',
  cancelled: 'cancelled',
  /** Jobs waiting for other jobs (status `waiting`): listable, never claimed. Sort key: enqueue time. */
  waiting: 'waiting',
  /** Pending FIFO jobs behind their group's head: moved to `due` when the job before them finishes. */
  fifo: 'fifo',
} as const;

/** An index lane name. */
export type Lane = (typeof LANE)[keyof typeof LANE];

/** `<queue>#<lane>#<shard, two digits>`: the index partition key value. */
export function statusShardKey(queue: string, lane: Lane, shard: number): string {
  return `${queue}#${lane}#${String(shard).padStart(2, '0')}`;
}

/** Smallest and largest job priority. Higher runs first. */
export const PRIORITY_MIN = -1000;
/** @see PRIORITY_MIN */
export const PRIORITY_MAX = 1000;

const pad = (n: number, width: number) => String(n).padStart(width, '0');
const invertPriority = (priority: number) => pad(PRIORITY_MAX - priority, 4);
const MS_WIDTH = 15;

/**
 * Sort key of a job that was due when it was written: `0#<inverted priority>#<run_at ms>`.
 * The `0#` range of a shard lists ready jobs highest priority first, then oldest first.
 */
export function encodeReadyOrder(priority: number, runAtMs: number): string {
  return `0#${invertPriority(priority)}#${pad(runAtMs, MS_WIDTH)}`;
}

/**
 * Sort key of a job that becomes due later (a delay or a retry backoff):
 * `1#<run_at ms>#<inverted priority>`. The `1#` range lists them by due time, so the due ones
 * are a prefix that one key condition (`run_order <= 1#<now>`) selects, with no promotion write.
 */
export function encodeScheduledOrder(priority: number, runAtMs: number): string {
  return `1#${pad(runAtMs, MS_WIDTH)}#${invertPriority(priority)}`;
}

/** The upper bound (inclusive) of the scheduled range that is due at `nowMs`. */
export function scheduledDueBound(nowMs: number): string {
  return `1#${pad(nowMs, MS_WIDTH)}#~`;
}

/** Prefix of the ready range. */
export const READY_PREFIX = '0#';
/** Prefix of the scheduled range. */
export const SCHEDULED_PREFIX = '1#';

/** Decodes a due-lane sort key into its priority and due time. */
export function decodeRunOrder(runOrder: string): { priority: number; runAtMs: number } | null {
  const parts = runOrder.split('#');
  if (parts.length !== 3) return null;
  if (parts[0] === '0') return { priority: PRIORITY_MAX - Number(parts[1]), runAtMs: Number(parts[2]) };
  if (parts[0] === '1') return { priority: PRIORITY_MAX - Number(parts[2]), runAtMs: Number(parts[1]) };
  return null;
}

/** DynamoDB's item size limit, in bytes. */
export const MAX_ITEM_BYTES = 400 * 1024;

/**
 * Bytes of an item kept free for what a job gathers while it runs (error message, progress,
 * bookkeeping attributes). The payload may use the rest; a result must fit beside it.
 */
export const ITEM_RESERVE_BYTES = 8 * 1024;

/** DynamoDB allows 32 levels of nested maps and lists in one attribute. */
export const MAX_NESTING_DEPTH = 32;

/** BatchWriteItem takes at most 25 requests. */
export const BATCH_WRITE_LIMIT = 25;

/** BatchGetItem takes at most 100 keys. */
export const BATCH_GET_LIMIT = 100;
