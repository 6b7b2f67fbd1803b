/**
 * Cancel by filter, step by step (`POST /jobs/bulk` with `{ action: "cancel", queue, type?, group? }`
 * and the dashboard's "Cancel all"): every pending job of a queue (and type, and group) is cancelled, a page at
 * a time, in steps of at most `maxJobs` jobs examined, resumable from the cursor each step
 * answers, with the counts so far, like a bulk redrive (`lib/store/redrive-jobs.ts`).
 *
 * Each page is one listing of the queue's pending jobs (`JobQueue.listJobs`: an index query per
 * shard and a BatchGetItem of the items) and one conditional write per job (`JobQueue.cancelJob`:
 * `status = pending AND run_order = seen`, so a job a worker claimed or someone retried in the
 * meantime is skipped, never forced). The cursor holds the listing's position after the last
 * page whose writes all settled: a step that was interrupted is resumed by re-reading that page,
 * where the jobs it already cancelled are no longer pending.
 *
 * The race it closes: jobs enqueued while the cancel runs may sort after the listing's position,
 * so a cancel that followed them could run as long as producers keep enqueueing. It covers only
 * jobs created by its start (`asOf`, kept in the cursor); later ones are examined and left alone.
 */
import { createHash } from 'node:crypto';
import { InvalidCursorError } from '../errors.ts';
import { encodeCursor, isCountList, parseCursor } from '../model/cursor.ts';
import type { JobQueue } from '../queue.ts';
import type { Job } from '../types.ts';
import { mapLimit } from '../util/map-limit.ts';

/** Which pending jobs to cancel. */
export interface CancelFilter {
  readonly queue: string;
  readonly type?: string;
  /** Only jobs of this group (the listing filters the index entries on it: other groups' items are not read). */
  readonly group?: string;
}

/** Options of {@link cancelByFilter}. */
export interface CancelByFilterOptions {
  /** Count the matches, change nothing. */
  readonly dryRun: boolean;
  /** Where the previous step stopped. */
  readonly cursor?: string;
  /** Jobs examined in this step at most (the step ends after the page that reaches it). */
  readonly maxJobs: number;
  /** Listing calls in this step at most (bounds a step whose type matches few jobs). @default 10 */
  readonly maxPages?: number;
  /** Cancels in flight at once. @default 8 */
  readonly concurrency?: number;
}

/** Where a cancel by filter stands: the counts since it began, and the cursor unless complete. */
export interface CancelProgress {
  /** Jobs created after this instant are left alone. */
  readonly asOf: Date;
  /** Pending jobs of the filter read so far. */
  readonly examined: number;
  /** Of those, created by `asOf`: the jobs to cancel (a dry run's count). */
  readonly matched: number;
  readonly cancelled: number;
  /** Matched jobs that had left the pending state before their write (claimed, retried, cancelled). */
  readonly skipped: number;
  readonly complete: boolean;
  /** Post it back for the next step (absent once complete). */
  readonly cursor?: string;
  readonly dryRun: boolean;
}

interface CancelState {
  readonly filterKey: string;
  readonly dryRun: boolean;
  readonly asOfMs: number;
  /** The listing's cursor after the last settled page; null at the start. */
  list: string | null;
  complete: boolean;
  readonly counts: { examined: number; matched: number; cancelled: number; skipped: number };
}

const CURSOR_RULE = 'a cursor returned by a cancel by filter for the same queue, type, group and dryRun';

/** Binds a cursor to its table, queue, type, group and mode. */
function filterKey(queue: JobQueue, f: CancelFilter, dryRun: boolean): string {
  return createHash('sha256').update(JSON.stringify([queue.tableName, f.queue, f.type ?? null, f.group ?? null, dryRun])).digest('base64url').slice(0, 16);
}

function stateCursor(s: CancelState): string {
  const c = s.counts;
  return encodeCursor({ v: 1, c: 'cancel', f: s.filterKey, t: s.asOfMs, l: s.list, n: [c.examined, c.matched, c.cancelled, c.skipped] });
}

function decodeCursor(raw: string, key: string, dryRun: boolean): CancelState {
  const c = parseCursor(raw, CURSOR_RULE, 'not a cancel cursor');
  const n = c.n;
  const validList = c.l === null || (typeof c.l === 'string' && c.l.length > 0 && c.l.length <= 4_096);
  const validCounts = isCountList(n, 4);
  if (c.v !== 1 || c.c !== 'cancel' || !Number.isSafeInteger(c.t) || !validList || !validCounts) throw new InvalidCursorError(undefined, CURSOR_RULE, 'not a cancel cursor');
  if (c.f !== key) throw new InvalidCursorError(undefined, CURSOR_RULE, 'a cursor of a cancel with another queue, type, group, table or dryRun');
  const [examined, matched, cancelled, skipped] = n as number[];
  return { filterKey: key, dryRun, asOfMs: c.t as number, list: c.l as string | null, complete: false, counts: { examined: examined!, matched: matched!, cancelled: cancelled!, skipped: skipped! } };
}

/** A new cancel: its `asOf` is now, by the queue's clock (the one that stamps `created_at`). */
function beginCancel(queue: JobQueue, key: string, dryRun: boolean): CancelState {
  return { filterKey: key, dryRun, asOfMs: queue.store.clock.now(), list: null, complete: false, counts: { examined: 0, matched: 0, cancelled: 0, skipped: 0 } };
}

/** Counts one page and cancels its matches (unless a dry run). */
async function settlePage(queue: JobQueue, s: CancelState, jobs: readonly Job[], concurrency: number): Promise<void> {
  const matches = jobs.filter((j) => j.createdAt.getTime() <= s.asOfMs);
  s.counts.examined += jobs.length;
  s.counts.matched += matches.length;
  if (s.dryRun) return;
  const done = await mapLimit(matches, concurrency, (j) => queue.cancelJob(j.id));
  const cancelled = done.filter(Boolean).length;
  s.counts.cancelled += cancelled;
  s.counts.skipped += done.length - cancelled;
}

function progressOf(s: CancelState): CancelProgress {
  return { asOf: new Date(s.asOfMs), ...s.counts, complete: s.complete, ...(s.complete ? {} : { cursor: stateCursor(s) }), dryRun: s.dryRun };
}

/**
 * Runs one step of a cancel by filter (see the module comment), from `o.cursor` or from the
 * start, and returns the counts so far with a cursor unless complete.
 * Cost per job: its share of the listing (index entries and about 1 read unit for the item), a
 * consistent GetItem (1 read unit) and an UpdateItem (1 table + 2 index write units).
 * @throws InvalidCursorError for a cursor of another filter, table or mode
 */
export async function cancelByFilter(queue: JobQueue, f: CancelFilter, o: CancelByFilterOptions): Promise<CancelProgress> {
  const key = filterKey(queue, f, o.dryRun);
  const s = o.cursor ? decodeCursor(o.cursor, key, o.dryRun) : beginCancel(queue, key, o.dryRun);
  let budget = o.maxJobs;
  for (let pages = 0; budget > 0 && pages < (o.maxPages ?? 10) && !s.complete; pages++) {
    const page = await queue.listJobs({ status: 'pending', queue: f.queue, limit: budget, ...(f.type !== undefined ? { type: f.type } : {}), ...(f.group !== undefined ? { group: f.group } : {}), ...(s.list ? { cursor: s.list } : {}) });
    await settlePage(queue, s, page.jobs, o.concurrency ?? 8);
    budget -= page.jobs.length;
    s.list = page.cursor ?? null;
    s.complete = page.cursor === undefined;
  }
  return progressOf(s);
}
