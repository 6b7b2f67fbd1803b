/**
 * `JobQueue`: the facade users call. Validates input, builds items, and delegates to one store
 * operation per method; `processJobs` runs the drain engine.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { EnqueueError, JobTableError, PayloadTooLargeError, ValidationError } from './errors.ts';
import { idempotentJobId, newJobId, newJobItem, toItem } from './model/codec.ts';
import { itemSize } from './model/item-size.ts';
import { validateEnqueue, validateGroup, validateJobId, validateListLimit, validateName, validateRetention, validateShardCount, validateStatus, validateTableName, LIMITS } from './model/validate.ts';
import type { NormalizedEnqueue } from './model/validate.ts';
import { DEFAULT_SHARD_COUNT, ITEM_RESERVE_BYTES, MAX_ITEM_BYTES } from './schema.ts';
import { cancelWithDependents } from './dependencies/cancel.ts';
import { enqueueDependent, enqueueFanIn } from './dependencies/enqueue.ts';
import { childAttributes, childJobId, dependencyOptions, refuseDependencyOptions, validateChildren, validatePolicy } from './model/dependencies.ts';
import { countJobs } from './store/count-jobs.ts';
import type { StoreContext } from './store/context.ts';
import { getJob } from './store/get-job.ts';
import { listJobs } from './store/list-jobs.ts';
import { putJob, settlePut } from './store/put-job.ts';
import { putJobs } from './store/put-jobs.ts';
import { debounceEnqueue } from './store/debounce-enqueue.ts';
import { fifoEnqueue } from './store/fifo-enqueue.ts';
import { fifoGroupState } from './store/fifo-groups.ts';
import type { FifoGroupState } from './store/fifo-groups.ts';
import { fifoQueuesOf } from './model/fifo.ts';
import { DebounceStamper } from './model/debounce.ts';
import { ATTR } from './schema.ts';
import { isOutcomeUnknown } from './store/resend.ts';
import type { PutJobsOutcome } from './store/put-jobs.ts';
import { redriveJobs } from './store/redrive-jobs.ts';
import { retryJob } from './store/retry-job.ts';
import { validateRedriveFilter, validateRedriveOptions } from './model/redrive-filter.ts';
import { validateLimits } from './model/limits.ts';
import { traceItemAttributes, withEnqueueSpan } from './observability/tracing.ts';
import { mapLimit } from './util/map-limit.ts';
import { drain } from './worker/drain.ts';
import { validateProcessArgs } from './worker/process-options.ts';
import { SchedulerNotConfiguredError } from './scheduler/port.ts';
import type { RecurringSchedule, Scheduler, ScheduleOptions } from './scheduler/port.ts';
import { normalizeRecurring, validateScheduleName } from './scheduler/recurring.ts';
import type {
  ChildRequest,
  EnqueuedParent,
  EnqueueParentOptions,
  EnqueuedJob,
  EnqueueOptions,
  EnqueueRequest,
  Handlers,
  Job,
  JobPage,
  JobQueueOptions,
  JobStats,
  JobTypeMap,
  ListJobsOptions,
  ProcessJobsOptions,
  ProcessReport,
  RedriveFilter,
  RedriveOptions,
  RedriveProgress,
} from './types.ts';

const systemClock = { now: () => Date.now() };

/** Largest payload share of an item: the rest is kept for the job's bookkeeping and error. */
export const MAX_NEW_ITEM_BYTES = MAX_ITEM_BYTES - ITEM_RESERVE_BYTES;

/**
 * A job queue on one DynamoDB table.
 *
 * @typeParam M a map of job types to payload types, so `enqueue` and handlers are checked.
 * @example
 * type Jobs = { send_email: { to: string; subject: string } };
 * const queue = new JobQueue<Jobs>({ tableName: 'jobs', client: new DynamoDBClient({}) });
 * const id = await queue.enqueue('send_email', { to: 'a@example.com', subject: 'Hi' });
 * await queue.processJobs({ send_email: async (p) => ({ sent: p.to }) });
 */
export class JobQueue<M extends JobTypeMap = Record<string, any>> {
  /** The store context every operation uses. */
  readonly store: StoreContext;
  private readonly onEnqueued: JobQueueOptions['onEnqueued'];
  /** The scheduler of recurring jobs, if one was configured. */
  readonly scheduler: Scheduler | undefined;
  /** The served queues, if limited (see {@link JobQueueOptions.queues}). */
  readonly queues: readonly string[] | undefined;
  /** The known job types, if limited (see {@link JobQueueOptions.jobTypes}). */
  readonly jobTypes: readonly string[] | undefined;
  /** Order stamps of this producer's debounced enqueues. */
  private readonly stamper = new DebounceStamper();
  /** The queues whose groups are FIFO (`limits.<queue>.group.fifo`). */
  readonly fifoQueues: ReadonlySet<string>;

  constructor(options: JobQueueOptions) {
    if (!options || typeof options !== 'object') throw new ValidationError('options', 'an object { tableName, client }');
    validateTableName(options.tableName);
    if (!options.client) throw new ValidationError('client', 'a DynamoDBClient');
    this.store = {
      client: options.client,
      tableName: options.tableName,
      shardCount: validateShardCount(options.shardCount ?? DEFAULT_SHARD_COUNT),
      clock: options.clock ?? systemClock,
      random: options.random ?? Math.random,
      retention: validateRetention(options.retention),
      ...(options.limits !== undefined ? { limits: validateLimits(options.limits) } : {}),
    };
    this.fifoQueues = fifoQueuesOf(this.store.limits);
    this.onEnqueued = options.onEnqueued;
    this.scheduler = options.scheduler;
    this.queues = options.queues === undefined ? undefined : validateNameList(options.queues, 'queues', LIMITS.queueMaxLength);
    this.jobTypes = options.jobTypes === undefined ? undefined : validateNameList(options.jobTypes, 'jobTypes', LIMITS.typeMaxLength);
  }

  /** The table name. */
  get tableName(): string {
    return this.store.tableName;
  }

  /** Builds the item of a validated job; `prefix` is the path of its request (`""` or `jobs[3].`); `childOf` makes it a child. */
  private build(spec: NormalizedEnqueue, prefix: string, childOf?: { parentId: string; index: number }) {
    if (this.queues && !this.queues.includes(spec.queue)) {
      throw new ValidationError(`${prefix}options.queue`, `one of the served queues: ${this.queues.join(', ')}`, `queue "${spec.queue}" has no worker here: use one of ${this.queues.join(', ')}`);
    }
    if (this.jobTypes && !this.jobTypes.includes(spec.type)) {
      throw new ValidationError(`${prefix}type`, `one of the known job types: ${this.jobTypes.join(', ')}`, `no handler for job type "${spec.type}": known types are ${this.jobTypes.join(', ')}`);
    }
    const field = `${prefix}payload`;
    const id = childOf ? childJobId(childOf.parentId, childOf.index) : spec.idempotencyKey !== null ? idempotentJobId(spec.queue, spec.idempotencyKey) : newJobId();
    const shard = Math.floor(this.store.random() * this.store.shardCount);
    const now = this.store.clock.now();
    const item = { ...toItem(newJobItem(spec, id, shard, now)), ...(childOf ? childAttributes(childOf.parentId, childOf.index) : {}) };
    if (spec.debounce) item[ATTR.debounceOrder] = { S: this.stamper.next(now) };
    const bytes = itemSize(item);
    if (bytes > MAX_NEW_ITEM_BYTES) throw new PayloadTooLargeError(field, bytes, MAX_NEW_ITEM_BYTES);
    const info: EnqueuedJob = { id, queue: spec.queue, type: spec.type, runAt: new Date(spec.runAtMs), shard };
    const fifo = this.fifoGroupOf(spec, prefix);
    return { id, item, info, keyed: spec.idempotencyKey !== null, trace: spec.trace, debounce: spec.debounce, fifo };
  }

  /**
   * Writes a debounced job (see `debounceEnqueue`); returns the id of the job that runs the key's
   * latest payload. Tells `onEnqueued` when this enqueue created or moved a pending job.
   */
  private async writeDebounced(built: ReturnType<JobQueue['build']>, item: Record<string, AttributeValue>): Promise<string> {
    const { key, windowMs } = built.debounce!;
    const res = await debounceEnqueue(this.store, { queue: built.info.queue, key, windowMs, item });
    if (res.outcome !== 'superseded') this.notify([{ ...built.info, id: res.id }]);
    return res.id;
  }

  /** The job's group if its queue is FIFO, else null; refuses what FIFO jobs cannot take. */
  private fifoGroupOf(spec: NormalizedEnqueue, prefix: string): string | null {
    if (spec.group === null || !this.fifoQueues.has(spec.queue)) return null;
    if (spec.debounce !== null) {
      throw new ValidationError(`${prefix}options.debounce`, 'not given with a group of a FIFO queue', `queue "${spec.queue}" is FIFO per group: give either group or debounce, not both`);
    }
    return spec.group;
  }

  /** Writes a FIFO job as the next of its group (see `fifoEnqueue`); returns its id. */
  private async writeFifo(built: ReturnType<JobQueue['build']>, item: Record<string, AttributeValue>): Promise<string> {
    const res = await fifoEnqueue(this.store, item, built.fifo!);
    if (res.created) this.notify([{ ...built.info, id: res.id, shard: res.shard }]);
    return res.id;
  }

  private notify(jobs: EnqueuedJob[]): void {
    if (jobs.length && this.onEnqueued) {
      try {
        this.onEnqueued(jobs);
      } catch {
        /* a notification hook must not fail an enqueue that was written */
      }
    }
  }

  /**
   * Adds a job. Returns its id; with an `idempotencyKey` already used in the queue, returns the
   * existing job's id and writes nothing.
   * @throws ValidationError (before anything is written) for bad input
   */
  async enqueue<K extends keyof M & string>(type: K, payload: M[K], options?: EnqueueOptions): Promise<string> {
    const spec = validateEnqueue(type, payload, options, this.store.clock.now());
    const deps = dependencyOptions(options);
    const built = this.build(spec, '');
    if (deps) refuseWithDependencies(built, '');
    if (deps) return enqueueDependent(this.store, built, deps, (info) => this.notify([info]));
    return withEnqueueSpan({ type: spec.type, queue: spec.queue, count: 1, explicit: spec.trace }, async (trace) => {
      if (built.debounce) return this.writeDebounced(built, { ...built.item, ...traceItemAttributes(trace) });
      if (built.fifo) return this.writeFifo(built, { ...built.item, ...traceItemAttributes(trace) });
      const res = await putJob(this.store, { ...built.item, ...traceItemAttributes(trace) });
      // `uncertain`: an SDK retry found the job after an attempt whose answer was lost (likely ours).
      if (res.created || res.uncertain) this.notify([built.info]);
      return res.id;
    });
  }

  /**
   * Adds many jobs: all are validated first (nothing is written if one is bad), then written in
   * batches of 25 with unprocessed items retried. Jobs with idempotency keys are written one by
   * one with a condition. Returns the ids in input order.
   *
   * A write whose answer is lost is settled before returning (a batch is never resent whole: its
   * jobs are put one by one with a condition, which finds those that landed). If some jobs still
   * could not be written, it throws an {@link EnqueueError} in which every job's id is in exactly
   * one of `written`, `notWritten` and `unknown`, after calling `onEnqueued` for the written ones.
   * @throws ValidationError naming `jobs[i].<field>`
   * @throws EnqueueError if some jobs could not be written (it lists where each one ended up)
   */
  async enqueueMany<K extends keyof M & string>(jobs: readonly EnqueueRequest<K, M[K]>[]): Promise<string[]> {
    if (!Array.isArray(jobs)) throw new ValidationError('jobs', 'an array of { type, payload, options? }');
    if (jobs.length > LIMITS.enqueueManyMax) throw new ValidationError('jobs', `at most ${LIMITS.enqueueManyMax} jobs per call`, `${jobs.length} jobs given`);
    const now = this.store.clock.now();
    // Array.from visits holes of a sparse array too, so each index gets a job or an error.
    const built = Array.from(jobs, (j, i) => {
      if (typeof j !== 'object' || j === null) throw new ValidationError(`jobs[${i}]`, 'an object { type, payload, options? }');
      refuseDependencyOptions(j.options, `jobs[${i}].`, 'enqueueMany');
      return this.build(validateEnqueue(j.type, j.payload, j.options, now, `jobs[${i}].`), `jobs[${i}].`);
    });
    if (built.length === 0) return [];
    const queues = [...new Set(built.map((b) => b.info.queue))];
    const span = { type: built[0]?.info.type ?? '', queue: queues.length === 1 ? queues[0]! : 'many', count: built.length, explicit: null };
    return withEnqueueSpan(span, async (trace) => {
      // A job given its own trace context records that one; the others the batch span's.
      const out = await this.writeMany(built, (b) => ({ ...b.item, ...traceItemAttributes(b.trace ?? trace) }));
      const byId = new Map(built.map((b) => [b.id, b.info]));
      this.notify(out.notify.map((id) => byId.get(id)!));
      const ids = built.map((b) => out.resolved.get(b.id) ?? b.id);
      if (out.notWritten.length === 0 && out.unknown.length === 0) return ids;
      throw new EnqueueError(
        `${out.written.length} of ${ids.length} jobs written, ${out.notWritten.length} not written, ${out.unknown.length} unknown: ${out.error instanceof Error ? out.error.message : String(out.error)}`,
        { ids, written: out.written, notWritten: out.notWritten, unknown: out.unknown },
        { cause: out.error },
      );
    });
  }

  /**
   * Writes unkeyed jobs in batches, then keyed ones (each id once) with conditional puts; stops at the first
   * batch that is not wholly written (the rest, keyed ones included, are not written). `notify`
   * lists the jobs this call may have created. `itemOf` gives the item to write (with its trace).
   */
  private async writeMany(built: ReturnType<JobQueue['build']>[], itemOf: (b: ReturnType<JobQueue['build']>) => Record<string, AttributeValue>): Promise<PutJobsOutcome & { notify: string[]; resolved: Map<string, string> }> {
    // A key repeated in one queue is one job (one id): put it once, so each id has one fate.
    const seen = new Set<string>();
    const keyed = built.filter((b) => b.keyed && !b.fifo && !seen.has(b.id) && seen.add(b.id));
    const out = await putJobs(this.store, built.filter((b) => !b.keyed && !b.debounce && !b.fifo).map(itemOf));
    const notify = [...out.written];
    const resolved = new Map<string, string>();
    const debounced = built.filter((b) => b.debounce);
    const fifo = built.filter((b) => b.fifo);
    if (out.notWritten.length > 0 || out.unknown.length > 0) {
      out.notWritten.push(...keyed.map((b) => b.id), ...debounced.map((b) => b.id), ...fifo.map((b) => b.id));
      return { ...out, notify, resolved };
    }
    await this.writeDebouncedMany(debounced, itemOf, out, resolved);
    await this.writeFifoMany(fifo, itemOf, out, resolved);
    for (const s of await mapLimit(keyed, 16, (b) => settlePut(this.store, itemOf(b)))) {
      if (s.state === 'created' || s.state === 'existed') out.written.push(s.id);
      else (s.state === 'unknown' ? out.unknown : out.notWritten).push(s.id);
      if (s.state === 'created' || (s.state === 'existed' && s.uncertain)) notify.push(s.id);
      if (s.error !== undefined) out.error ??= s.error;
    }
    return { ...out, notify, resolved };
  }

  /**
   * The FIFO jobs of an `enqueueMany`, one after the other in input order (so each group gets them
   * in that order); stops at the first that fails (the rest are not written, so none is written
   * ahead of it). Each job's id is known only once its position is.
   */
  private async writeFifoMany(
    fifo: ReturnType<JobQueue['build']>[],
    itemOf: (b: ReturnType<JobQueue['build']>) => Record<string, AttributeValue>,
    out: PutJobsOutcome,
    resolved: Map<string, string>,
  ): Promise<void> {
    for (const [i, b] of fifo.entries()) {
      try {
        const id = await this.writeFifo(b, itemOf(b));
        resolved.set(b.id, id);
        out.written.push(id);
      } catch (error) {
        out.error ??= error;
        (!(error instanceof JobTableError) && isOutcomeUnknown(error) ? out.unknown : out.notWritten).push(b.id);
        out.notWritten.push(...fifo.slice(i + 1).map((x) => x.id));
        return;
      }
    }
  }

  /**
   * The debounced jobs of an `enqueueMany`, one debounced enqueue per key (in input order, so the
   * last of a key in the call wins); every job of a key resolves to the id that enqueue returns.
   */
  private async writeDebouncedMany(
    debounced: ReturnType<JobQueue['build']>[],
    itemOf: (b: ReturnType<JobQueue['build']>) => Record<string, AttributeValue>,
    out: PutJobsOutcome,
    resolved: Map<string, string>,
  ): Promise<void> {
    const byKey = new Map<string, ReturnType<JobQueue['build']>[]>();
    for (const b of debounced) {
      const k = `${b.info.queue}\n${b.debounce!.key}`;
      byKey.set(k, [...(byKey.get(k) ?? []), b]);
    }
    for (const group of byKey.values()) {
      const last = group[group.length - 1]!;
      try {
        const id = await this.writeDebounced(last, itemOf(last));
        for (const b of group) resolved.set(b.id, id);
        out.written.push(...group.map(() => id));
      } catch (error) {
        // A typed error (contention) means nothing of this enqueue was written; a DynamoDB fault may have.
        (!(error instanceof JobTableError) && isOutcomeUnknown(error) ? out.unknown : out.notWritten).push(...group.map((b) => b.id));
        out.error ??= error;
      }
    }
  }

  /** Reads a job; null if there is none (or its retention has expired). */
  async getJob(id: string): Promise<Job | null> {
    return getJob(this.store, validateJobId(id));
  }

  /**
   * Cancels a job that is still pending or waiting; true only if it was. Jobs waiting for it count
   * it as failed. A parent's pending and waiting children are cancelled too (calling it again on
   * a cancelled or failed parent finishes an interrupted cancel of its children).
   */
  async cancelJob(id: string): Promise<boolean> {
    return cancelWithDependents(this.store, validateJobId(id));
  }

  /**
   * Fan-in: enqueues a parent and its children in one call. The parent waits (status `waiting`)
   * until every child has finished, then runs once, reading the children's results with
   * `ctx.dependencies()`. A child that fails for good (or is cancelled) fails the parent
   * (`onChildFailure: 'fail'`, the default: it fails without running, naming the child, and its
   * pending children are cancelled) or is visible to it (`'continue'`). 1 to 1,000 children.
   *
   * Not one transaction (1,000 children exceed DynamoDB's 100 actions): the parent is written
   * first, then the children with conditional puts, then a flag. Pass an `idempotencyKey`: if the
   * call fails halfway (an `EnqueueError` lists the children written), calling it again with the
   * same key writes the missing children, never duplicating any. Cost: docs/design.md,
   * "Dependencies and fan-in".
   * @throws ValidationError (before anything is written) naming `children[i].<field>` or `options.<field>`
   * @throws EnqueueError if some children could not be written (the parent was)
   * @example
   * const { id } = await queue.enqueueParent('merge', { month: '2026-11' }, pages.map((p) => ({ type: 'render', payload: p })), { idempotencyKey: 'merge-2026-11' });
   */
  async enqueueParent<K extends keyof M & string>(type: K, payload: M[K], children: readonly ChildRequest[], options: EnqueueParentOptions = {}): Promise<EnqueuedParent> {
    const now = this.store.clock.now();
    const { onChildFailure, ...parentOptions } = (options ?? {}) as EnqueueParentOptions;
    refuseDependencyOptions(parentOptions, '', 'a parent (its children are what it waits for)');
    const onFailure = validatePolicy(onChildFailure, 'options.onChildFailure');
    const parentSpec = validateEnqueue(type, payload, parentOptions, now);
    const parent = this.build(parentSpec, '');
    refuseWithDependencies(parent, '');
    validateChildren(children);
    const built = Array.from(children, (c, i) => {
      if (typeof c !== 'object' || c === null) throw new ValidationError(`children[${i}]`, 'an object { type, payload, options? }');
      refuseDependencyOptions(c.options, `children[${i}].`, 'a child');
      // A child runs in its parent's queue unless it names its own.
      const options = c.options === undefined || (typeof c.options === 'object' && c.options !== null && !Array.isArray(c.options)) ? { queue: parentSpec.queue, ...c.options } : c.options;
      const child = this.build(validateEnqueue(c.type, c.payload, options, now, `children[${i}].`), `children[${i}].`, { parentId: parent.id, index: i });
      refuseWithDependencies(child, `children[${i}].`);
      return child;
    });
    return enqueueFanIn(this.store, { parent, children: built, onFailure }, (infos) => this.notify(infos));
  }

  /** Puts a failed or cancelled job back to pending, attempts reset; true only if it was one. */
  async retryJob(id: string): Promise<boolean> {
    return retryJob(this.store, validateJobId(id));
  }

  /**
   * Bulk redrive: puts every dead letter (or, with `status: 'cancelled'`, every cancelled job) of
   * a queue that matches `filter` back to pending, attempts reset, as {@link retryJob} does for
   * one. Resumable: pass the returned `cursor` back (with the same filter) after an interruption
   * (`signal`, `maxJobs`, a crash between calls, using the last cursor `onProgress` saw); each job
   * is put back at most once per redrive. Jobs that fail after the redrive began are not part of
   * it. Cost per job: about 1 read unit and 3 write units (docs/design.md, "Bulk redrive").
   * @throws ValidationError (before anything is read) naming the field of a bad filter or option
   * @throws InvalidCursorError for a cursor of another filter
   * @example
   * const r = await queue.redrive({ type: 'send_email', errorContains: 'timeout', finishedAfter: Date.now() - 3_600_000 }, {
   *   onProgress: (p) => console.log(`${p.redriven} of ${p.candidates}`),
   * });
   */
  async redrive(filter: RedriveFilter = {}, options: RedriveOptions = {}): Promise<RedriveProgress> {
    return redriveJobs(this.store, validateRedriveFilter(filter, 'filter.'), validateRedriveOptions(options));
  }

  /** Lists jobs by status, a page at a time; pass `cursor` back for the next page. */
  async listJobs(options: ListJobsOptions): Promise<JobPage> {
    if (!options || typeof options !== 'object') throw new ValidationError('options', 'an object { status, queue?, limit?, cursor?, type? }');
    const status = validateStatus(options.status);
    const queue = options.queue === undefined ? 'default' : validateName(options.queue, 'queue', LIMITS.queueMaxLength);
    const limit = validateListLimit(options.limit);
    if (options.cursor !== undefined && typeof options.cursor !== 'string') throw new ValidationError('cursor', 'a string returned by listJobs');
    const type = options.type === undefined ? undefined : validateName(options.type, 'type', LIMITS.typeMaxLength);
    const group = options.group === undefined ? undefined : validateGroup(options.group, 'group');
    return listJobs(this.store, { status, queue, limit, ...(options.cursor ? { cursor: options.cursor } : {}), ...(type !== undefined ? { type } : {}), ...(group !== undefined ? { group } : {}) });
  }

  /**
   * Counts the jobs of a queue by status, with the age of the oldest due job. Reads the whole
   * index lanes of the queue and scans the table for completed jobs: cheap locally and on small
   * tables, costly on big ones (see `lib/store/count-jobs.ts`).
   * @example
   * const { counts, oldestDueAgeMs } = await queue.stats({ queue: 'default' });
   */
  async stats(options: { readonly queue?: string } = {}): Promise<JobStats> {
    const queue = options.queue === undefined ? 'default' : validateName(options.queue, 'queue', LIMITS.queueMaxLength);
    return countJobs(this.store, queue);
  }

  /**
   * A FIFO group's state: its last position, its head (the job allowed to run, pending or running)
   * and how many jobs wait behind it. One consistent read (1 read unit).
   * @example
   * const { head, headJobId, behind } = await queue.fifoGroup({ queue: 'orders', group: 'customer-42' });
   */
  async fifoGroup(options: { readonly queue?: string; readonly group: string }): Promise<FifoGroupState> {
    if (!options || typeof options !== 'object') throw new ValidationError('options', 'an object { queue?, group }');
    const queue = options.queue === undefined ? 'default' : validateName(options.queue, 'queue', LIMITS.queueMaxLength);
    return fifoGroupState(this.store, queue, validateGroup(options.group, 'group'));
  }

  /**
   * Drains due jobs of a queue with `handlers` until none is due, or `maxJobs`, `timeBudgetMs`
   * or `signal` stops it; running jobs always finish (or are released on shutdown). Returns
   * counts of what happened.
   * @example
   * const report = await queue.processJobs({ send_email: sendEmail }, { concurrency: 8 });
   */
  async processJobs(handlers: Handlers<M>, options: ProcessJobsOptions = {}): Promise<ProcessReport> {
    validateProcessArgs(handlers, options);
    return drain(this.store, handlers as Handlers, options);
  }

  private requireScheduler(method: string): Scheduler {
    if (!this.scheduler) throw new SchedulerNotConfiguredError(method);
    return this.scheduler;
  }

  /**
   * Creates or replaces the recurring job `name`: each time `expression` fires, one job of `type`
   * with `payload` is enqueued (once per firing, even if the scheduler delivers it twice).
   * Expressions use EventBridge Scheduler syntax: `rate(5 minutes)`, `cron(0 2 * * ? *)`.
   * @throws ValidationError (before anything is created) for a bad name, expression, time zone or job
   * @throws SchedulerNotConfiguredError if the queue has no `scheduler`
   * @example
   * await queue.schedule('nightly-report', 'cron(0 2 * * ? *)', 'generate_report', { kind: 'daily' }, { timezone: 'Europe/Paris' });
   */
  async schedule<K extends keyof M & string>(name: string, expression: string, type: K, payload: M[K], options?: ScheduleOptions): Promise<RecurringSchedule> {
    const scheduler = this.requireScheduler('schedule');
    const schedule = normalizeRecurring(name, expression, type, payload, options, scheduler.allowSecondRates);
    await scheduler.putRecurring(schedule);
    return schedule;
  }

  /** Deletes the recurring job `name`; false if there was none. */
  async unschedule(name: string): Promise<boolean> {
    const scheduler = this.requireScheduler('unschedule');
    return scheduler.deleteRecurring(validateScheduleName(name));
  }

  /** The recurring jobs, sorted by name. */
  async listSchedules(): Promise<RecurringSchedule[]> {
    return this.requireScheduler('listSchedules').listRecurring();
  }
}

/** Checks the `queues` or `jobTypes` option: a non-empty array of distinct valid names. */
function validateNameList(names: unknown, field: string, maxLength: number): readonly string[] {
  if (!Array.isArray(names) || names.length === 0) throw new ValidationError(field, 'a non-empty array of names');
  return Object.freeze([...new Set(names.map((n, i) => validateName(n, `${field}[${i}]`, maxLength)))]);
}

/**
 * Dependencies (a job with `dependsOn`, a parent, a child) do not combine with debounce (a merge
 * would move another caller's job) or with FIFO groups (a FIFO outcome hands its group on in its
 * own transaction, which counts no dependents): refused before anything is written.
 */
function refuseWithDependencies(built: { debounce: unknown; fifo: string | null }, prefix: string): void {
  if (built.debounce) throw new ValidationError(`${prefix}options.debounce`, 'not given to a job with dependencies (dependsOn, a parent or a child)', 'debounce cannot be combined with dependencies');
  if (built.fifo !== null) throw new ValidationError(`${prefix}options.group`, 'not a group of a FIFO queue for a job with dependencies (dependsOn, a parent or a child)', 'FIFO groups cannot be combined with dependencies');
}
