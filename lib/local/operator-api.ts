/**
 * What the dashboard needs beyond single jobs, kept cheap on a large table: the queues and their
 * bounded counts (`GET /queues`), the last hour's outcomes (`GET /activity`), lists filtered by
 * type and group, lookup by id or idempotency key (`GET /find`) and bulk retry/cancel (`POST /jobs/bulk`; a
 * retry by filter is a step of a bulk redrive, a cancel by filter a step of `cancel-by-filter.ts`).
 * The routes themselves are in `http-api.ts`; this file holds their logic.
 */
import { ValidationError } from '../errors.ts';
import { idempotentJobId } from '../model/codec.ts';
import { validateRedriveFilter } from '../model/redrive-filter.ts';
import { cancelByFilter } from './cancel-by-filter.ts';
import { LIMITS, validateGroup, validateJobId, validateName } from '../model/validate.ts';
import type { JobQueue } from '../queue.ts';
import { discoverQueues } from '../store/discover-queues.ts';
import { countQueue, DEFAULT_COUNT_CAP } from '../store/queue-counts.ts';
import type { QueueCounts } from '../store/queue-counts.ts';
import type { Job, JobPage, JobStatus, RedriveFilter } from '../types.ts';
import { mapLimit } from '../util/map-limit.ts';

/** Jobs one bulk action touches at most. */
export const BULK_MAX = 1_000;

/** How long a discovery of the queues in the index is reused before the next `GET /queues` repeats it. */
export const DISCOVERY_TTL_MS = 5 * 60_000;

/** Rounds of index pages a type-filtered list reads at most before it returns what it found. */
const TYPE_FILTER_ROUNDS = 5;

/**
 * The queues the dashboard shows: the ones it was told about, the ones jobs were enqueued to
 * through it, the ones seen in observed activity, and the ones a scan of the index found (redone
 * at most every {@link DISCOVERY_TTL_MS}, or when asked).
 */
export class QueueDirectory {
  private readonly known = new Set<string>();
  private discovered: { at: number; complete: boolean; readUnits: number; queues: string[] } | null = null;
  private discovering: Promise<void> | null = null;

  constructor(
    private readonly queue: JobQueue,
    configured: readonly string[],
    private readonly now: () => number = Date.now,
  ) {
    for (const q of configured) this.known.add(q);
  }

  /** Adds a queue (one a job was just enqueued to, or one seen in activity). */
  add(name: string): void {
    this.known.add(name);
  }

  /** All queues, sorted, after a discovery if the last one is stale (or `force`). */
  async list(force = false): Promise<{ queues: string[]; discovery: { at: string; complete: boolean; readUnits: number } | null }> {
    if (force || !this.discovered || this.now() - this.discovered.at > DISCOVERY_TTL_MS) await this.discover();
    const d = this.discovered;
    const queues = [...new Set([...this.known, ...(d?.queues ?? [])])].sort((a, b) => (a === 'default' ? -1 : b === 'default' ? 1 : a.localeCompare(b)));
    return { queues, discovery: d ? { at: new Date(d.at).toISOString(), complete: d.complete, readUnits: d.readUnits } : null };
  }

  private discover(): Promise<void> {
    this.discovering ??= discoverQueues(this.queue.store)
      .then((found) => {
        this.discovered = { at: this.now(), ...found };
      })
      .finally(() => {
        this.discovering = null;
      });
    return this.discovering;
  }
}

/** `GET /queues`: every queue with its bounded counts, and what the counting cost. */
export async function queueOverview(queue: JobQueue, directory: QueueDirectory, force: boolean, cap = DEFAULT_COUNT_CAP) {
  const { queues, discovery } = await directory.list(force);
  const counts: QueueCounts[] = await mapLimit(queues, 4, (name) => countQueue(queue.store, name, cap));
  return { queues: counts, cap, discovery, readUnits: counts.reduce((a, c) => a + c.readUnits, 0) };
}

/**
 * A page of jobs with `status` in `queue`, optionally of one `type` and/or `group`. With a filter, index pages are
 * read until `limit` matching jobs are found, the lane ends, or {@link TYPE_FILTER_ROUNDS} rounds
 * were read; the returned cursor continues after the last job read.
 */
export async function listFiltered(queue: JobQueue, o: { status: JobStatus; queue: string; limit: number; cursor?: string; type?: string; group?: string }): Promise<JobPage & { readonly rounds: number }> {
  if (o.type === undefined && o.group === undefined) return { ...(await queue.listJobs(o)), rounds: 1 };
  const jobs: Job[] = [];
  let cursor = o.cursor;
  let rounds = 0;
  do {
    const page = await queue.listJobs({ ...o, limit: o.limit - jobs.length, ...(cursor !== undefined ? { cursor } : {}) });
    jobs.push(...page.jobs);
    cursor = page.cursor;
    rounds++;
  } while (cursor !== undefined && jobs.length < o.limit && rounds < TYPE_FILTER_ROUNDS);
  return cursor !== undefined ? { jobs, cursor, rounds } : { jobs, rounds };
}

/** One way a search matched. */
export interface FindMatch {
  readonly how: 'id' | 'idempotencyKey';
  readonly job: Job;
}

/**
 * `GET /find?q=&queue=`: the job whose id is `q`, and the job enqueued to `queue` with the
 * idempotency key `q` (its id is derived from the two, so both are one GetItem each).
 */
export async function findJobs(queue: JobQueue, q: string, queueName: string): Promise<FindMatch[]> {
  if (q.length === 0 || q.length > LIMITS.idempotencyKeyMaxLength) throw new ValidationError('q', `a job id or idempotency key of 1 to ${LIMITS.idempotencyKeyMaxLength} characters`);
  const name = validateName(queueName, 'queue', LIMITS.queueMaxLength);
  const asId = /^[A-Za-z0-9_-]{1,64}$/.test(q) ? queue.getJob(q) : Promise.resolve(null);
  const asKey = queue.getJob(idempotentJobId(name, q));
  const [byId, byKey] = await Promise.all([asId, asKey]);
  const matches: FindMatch[] = [];
  if (byId) matches.push({ how: 'id', job: byId });
  if (byKey && byKey.id !== byId?.id) matches.push({ how: 'idempotencyKey', job: byKey });
  return matches;
}

/** A bulk action: retry failed jobs or cancel pending ones, by ids or by filter. */
export interface BulkRequest {
  readonly action: 'retry' | 'cancel';
  readonly ids?: readonly string[];
  readonly queue?: string;
  readonly type?: string;
  /** Only jobs of this group (a filter; checked like `options.group` at enqueue). */
  readonly group?: string;
  /** Retry by filter: the redrive's filter (lane, type, error text, time ranges) and where to resume it. */
  readonly redrive?: { readonly filter: RedriveFilter; readonly cursor?: string };
  /** Cancel by filter: where to resume it (see {@link cancelByFilter}). */
  readonly cursor?: string;
  readonly dryRun: boolean;
}

/** The status a bulk action applies to: retry takes failed jobs, cancel pending ones. */
export const bulkStatus = (action: BulkRequest['action']): JobStatus => (action === 'retry' ? 'failed' : 'pending');

/** Fields of a retry by filter besides `queue`, `type` and `group`: the rest of the redrive filter, and its cursor. */
const REDRIVE_FIELDS = ['status', 'errorContains', 'finishedAfter', 'finishedBefore', 'createdAfter', 'createdBefore', 'cursor'] as const;
const BULK_FIELDS = ['action', 'ids', 'queue', 'type', 'group', 'dryRun', ...REDRIVE_FIELDS];

/** The fields every filter of a bulk action has: the queue, and the type and group if given. */
function commonFilter(b: Record<string, unknown>): { queue: string; type?: string; group?: string } {
  return {
    queue: validateName(b.queue, 'queue', LIMITS.queueMaxLength),
    ...(b.type !== undefined ? { type: validateName(b.type, 'type', LIMITS.typeMaxLength) } : {}),
    ...(b.group !== undefined ? { group: validateGroup(b.group, 'group') } : {}),
  };
}

/** Checks the body of `POST /jobs/bulk`; throws ValidationError naming the field. */
export function parseBulkRequest(body: unknown): BulkRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ValidationError('body', 'a JSON object { action, ids } or { action, queue, type?, group?, ... }');
  const b = body as Record<string, unknown>;
  for (const key of Object.keys(b)) if (!BULK_FIELDS.includes(key)) throw new ValidationError(key, `one of ${BULK_FIELDS.join(', ')}`, `unknown field "${key.slice(0, 60)}"`);
  if (b.action !== 'retry' && b.action !== 'cancel') throw new ValidationError('action', '"retry" (failed jobs) or "cancel" (pending jobs)');
  if ((b.ids === undefined) === (b.queue === undefined)) throw new ValidationError('ids', 'either ids (a selection) or queue (a filter), not both and not neither');
  if (b.dryRun !== undefined && typeof b.dryRun !== 'boolean') throw new ValidationError('dryRun', 'true or false');
  const base = { action: b.action, dryRun: b.dryRun === true } as const;
  // A cancel by filter takes a cursor too (it runs in steps); the rest of the fields only a retry.
  const cancelsByFilter = b.action === 'cancel' && b.ids === undefined;
  const redriveField = REDRIVE_FIELDS.find((k) => b[k] !== undefined && !(k === 'cursor' && cancelsByFilter));
  if (redriveField !== undefined && (b.action !== 'retry' || b.ids !== undefined)) throw new ValidationError(redriveField, 'only with action "retry" and a queue (a filter)');
  if (b.ids !== undefined) {
    if (!Array.isArray(b.ids) || b.ids.length === 0 || b.ids.length > BULK_MAX) throw new ValidationError('ids', `an array of 1 to ${BULK_MAX} job ids`);
    for (const k of ['type', 'group'] as const) if (b[k] !== undefined) throw new ValidationError(k, 'only with queue (a filter)');
    return { ...base, ids: [...new Set(b.ids.map((id, i) => validateJobId(id, `ids[${i}]`)))] };
  }
  const common = commonFilter(b);
  const cursor = b.cursor === undefined ? undefined : validateStepCursor(b.cursor);
  if (b.action === 'cancel') return { ...base, ...common, ...(cursor !== undefined ? { cursor } : {}) };
  const { cursor: _cursor, ...rest } = Object.fromEntries(REDRIVE_FIELDS.filter((k) => b[k] !== undefined).map((k) => [k, b[k]]));
  const filter = { ...common, ...rest } as RedriveFilter;
  validateRedriveFilter(filter);
  return { ...base, ...common, redrive: { filter, ...(cursor !== undefined ? { cursor: cursor as string } : {}) } };
}

function validateStepCursor(cursor: unknown): string {
  if (typeof cursor !== 'string' || cursor.length === 0 || cursor.length > 4_096) throw new ValidationError('cursor', 'the cursor of the previous answer');
  return cursor;
}

/**
 * A cancel by filter is one step ({@link cancelByFilter}): it examines up to {@link BULK_MAX}
 * pending jobs and answers the counts so far, with a `cursor` to post back while not `complete`.
 */
async function runCancelStep(queue: JobQueue, req: BulkRequest) {
  const filter = { queue: req.queue!, ...(req.type !== undefined ? { type: req.type } : {}), ...(req.group !== undefined ? { group: req.group } : {}) };
  const progress = await cancelByFilter(queue, filter, { dryRun: req.dryRun, maxJobs: BULK_MAX, ...(req.cursor !== undefined ? { cursor: req.cursor } : {}) });
  return { action: req.action, status: 'pending' as const, ...progress, count: progress.matched, done: progress.cancelled, more: !progress.complete };
}

/**
 * A retry by filter is one step of a bulk redrive ({@link JobQueue.redrive}): it examines up to
 * {@link BULK_MAX} jobs and answers the counts so far, with a `cursor` to post back for the next
 * step while it is not `complete`.
 */
async function runRedriveStep(queue: JobQueue, req: BulkRequest) {
  const { filter, cursor } = req.redrive!;
  const progress = await queue.redrive(filter, { dryRun: req.dryRun, maxJobs: BULK_MAX, ...(cursor !== undefined ? { cursor } : {}) });
  return { action: req.action, status: filter.status ?? 'failed', ...progress, count: progress.matched, more: !progress.complete };
}

/**
 * Runs (or, with `dryRun`, only counts) a bulk action. A retry by filter is a bulk redrive step
 * ({@link runRedriveStep}), a cancel by filter a step of {@link cancelByFilter}. Otherwise each job is one conditional write, exactly as `retryJob` /
 * `cancelJob`: a job that left the right state in the meantime is skipped, never forced. Cost per
 * job: a consistent GetItem (1 read unit) and an UpdateItem (1 table + 2 index write units); a
 * filter adds the listing reads.
 */
export async function runBulk(queue: JobQueue, req: BulkRequest) {
  if (req.redrive) return runRedriveStep(queue, req);
  if (!req.ids) return runCancelStep(queue, req);
  const ids = [...req.ids];
  const status = bulkStatus(req.action);
  if (req.dryRun) return { action: req.action, status, dryRun: true, count: ids.length, more: false, ids };
  const outcomes = await mapLimit(ids, 8, async (id) => ({ id, done: req.action === 'retry' ? await queue.retryJob(id) : await queue.cancelJob(id) }));
  const done = outcomes.filter((o) => o.done).map((o) => o.id);
  const skipped = outcomes.filter((o) => !o.done).map((o) => o.id);
  return { action: req.action, status, dryRun: false, count: ids.length, more: false, done: done.length, skipped };
}
