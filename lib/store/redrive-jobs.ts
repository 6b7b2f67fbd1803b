/**
 * Bulk redrive: puts every failed (or cancelled) job of a queue that matches a filter back to
 * pending, page by page, resumable from a cursor.
 *
 * Each page is one index query on one shard of the lane (`<queue>#failed#NN`, sort key = the
 * ISO time the job finished, so the finished-time range is a key condition), one consistent
 * BatchGetItem for the items (the index holds neither type, error nor priority; it holds the group,
 * so a group filter skips other groups' entries before any item is read), and one
 * conditional UpdateItem per matching job ({@link retryItem} with this redrive's id). Shards are
 * walked in order, each oldest first; the cursor holds the shard, the last key of the last page
 * whose writes all settled, and the counts so far.
 *
 * The race it closes: a redrive that is interrupted and resumed re-reads the page that was in
 * flight, and by then some of its jobs may have run and failed again. They are not put back
 * twice: the redrive covers only jobs that finished by its start (`asOf`, an upper bound of the
 * key condition and re-checked on the item), and each write requires that the item does not
 * already carry this redrive's id (`redrive_id`), which holds even if a worker's clock is behind.
 */
import { QueryCommand } from '@aws-sdk/client-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { createHash } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import { InvalidCursorError } from '../errors.ts';
import { encodeCursor, isCountList, parseCursor } from '../model/cursor.ts';
import { isExpired, iso } from '../model/codec.ts';
import { matchesRedrive, needsItems } from '../model/redrive-filter.ts';
import type { NormalizedRedriveFilter, NormalizedRedriveOptions, RedriveCandidate } from '../model/redrive-filter.ts';
import { ATTR, LANE, TABLE, statusShardKey } from '../schema.ts';
import type { RedriveProgress } from '../types.ts';
import { mapLimit } from '../util/map-limit.ts';
import type { StoreContext } from './context.ts';
import { getItems } from './get-job.ts';
import { retryItem } from './retry-job.ts';

/** Counts carried from call to call in the cursor. */
interface Counts {
  candidates: number;
  examined: number;
  matched: number;
  redriven: number;
  skipped: number;
}

/** Where a redrive stands. */
interface RedriveState {
  readonly id: string;
  readonly asOfMs: number;
  readonly filterKey: string;
  readonly dryRun: boolean;
  /** The shard being read; `shardCount` once all are done. */
  shard: number;
  /** The last (run_order, id) of the shard whose page settled; null at the shard's start. */
  after: [string, string] | null;
  readonly counts: Counts;
}

/** The inclusive range of `run_order` (ISO finish times) a redrive covers, or null if empty. */
function laneRange(f: NormalizedRedriveFilter, asOfMs: number): { lo: string; hi: string } | null {
  const hiMs = Math.min(asOfMs, (f.finishedBeforeMs ?? Number.MAX_SAFE_INTEGER) - 1);
  const loMs = f.finishedAfterMs ?? 0;
  return hiMs < loMs ? null : { lo: iso(loMs), hi: iso(hiMs) };
}

/** Binds a cursor to its table, shard count and filter. */
function filterKey(ctx: StoreContext, f: NormalizedRedriveFilter): string {
  const canonical = JSON.stringify([ctx.tableName, ctx.shardCount, f.queue, f.status, f.type, f.group, f.errorContains, f.finishedAfterMs, f.finishedBeforeMs, f.createdAfterMs, f.createdBeforeMs]);
  return createHash('sha256').update(canonical).digest('base64url').slice(0, 16);
}

const CURSOR_RULE = 'a cursor returned by redrive for the same filter (and the same dryRun)';

function stateCursor(s: RedriveState): string {
  const c = s.counts;
  return encodeCursor({ v: 1, r: s.id, t: s.asOfMs, f: s.filterKey, d: s.dryRun, s: s.shard, k: s.after, n: [c.candidates, c.examined, c.matched, c.redriven, c.skipped] });
}

function decodeCursor(ctx: StoreContext, raw: string, key: string, dryRun: boolean): RedriveState {
  const c = parseCursor(raw, CURSOR_RULE, 'not a redrive cursor');
  const n = c.n;
  const k = c.k;
  const validKey = k === null || (Array.isArray(k) && k.length === 2 && k.every((x) => typeof x === 'string' && x.length > 0 && x.length <= 1024));
  const validCounts = isCountList(n, 5);
  if (c.v !== 1 || typeof c.r !== 'string' || !Number.isSafeInteger(c.t) || !Number.isInteger(c.s) || (c.s as number) < 0 || (c.s as number) > ctx.shardCount || !validKey || !validCounts) {
    throw new InvalidCursorError(undefined, CURSOR_RULE, 'not a redrive cursor');
  }
  if (c.f !== key || c.d !== dryRun) throw new InvalidCursorError(undefined, CURSOR_RULE, 'a cursor of a redrive with another filter, table or dryRun');
  const [candidates, examined, matched, redriven, skipped] = n as number[];
  return { id: c.r, asOfMs: c.t as number, filterKey: key, dryRun, shard: c.s as number, after: k as [string, string] | null, counts: { candidates: candidates!, examined: examined!, matched: matched!, redriven: redriven!, skipped: skipped! } };
}

/** The index query of one shard's lane within the range. */
function laneQuery(ctx: StoreContext, f: NormalizedRedriveFilter, shard: number, range: { lo: string; hi: string }) {
  return {
    TableName: ctx.tableName,
    IndexName: TABLE.indexName,
    KeyConditionExpression: '#pk = :pk AND #ro BETWEEN :lo AND :hi',
    ExpressionAttributeNames: { '#pk': ATTR.statusShard, '#ro': ATTR.runOrder },
    ExpressionAttributeValues: { ':pk': { S: statusShardKey(f.queue, f.status === 'failed' ? LANE.failed : LANE.cancelled, shard) }, ':lo': { S: range.lo }, ':hi': { S: range.hi } },
  };
}

/** Index entries of every shard in the range (Select COUNT: reads the small index entries only). */
async function countCandidates(ctx: StoreContext, f: NormalizedRedriveFilter, range: { lo: string; hi: string }): Promise<number> {
  const shards = Array.from({ length: ctx.shardCount }, (_, i) => i);
  const perShard = await mapLimit(shards, 8, async (shard) => {
    let count = 0;
    let start: Record<string, AttributeValue> | undefined;
    do {
      const res = await ctx.client.send(new QueryCommand({ ...laneQuery(ctx, f, shard, range), Select: 'COUNT', ...(start ? { ExclusiveStartKey: start } : {}) }));
      count += res.Count ?? 0;
      start = res.LastEvaluatedKey;
    } while (start);
    return count;
  });
  return perShard.reduce((a, b) => a + b, 0);
}

/** A new redrive: its id, its `asOf` (now) and the count of its candidates. */
async function beginRedrive(ctx: StoreContext, f: NormalizedRedriveFilter, key: string, dryRun: boolean): Promise<RedriveState> {
  const asOfMs = ctx.clock.now();
  const range = laneRange(f, asOfMs);
  const candidates = range ? await countCandidates(ctx, f, range) : 0;
  return { id: uuidv7(), asOfMs, filterKey: key, dryRun, shard: range ? 0 : ctx.shardCount, after: null, counts: { candidates, examined: 0, matched: 0, redriven: 0, skipped: 0 } };
}

/** One page of index entries of the current shard, after the last settled key. */
async function readPage(ctx: StoreContext, f: NormalizedRedriveFilter, s: RedriveState, range: { lo: string; hi: string }, limit: number) {
  const pk = statusShardKey(f.queue, f.status === 'failed' ? LANE.failed : LANE.cancelled, s.shard);
  const res = await ctx.client.send(
    new QueryCommand({
      ...laneQuery(ctx, f, s.shard, range),
      Limit: limit,
      ...(s.after ? { ExclusiveStartKey: { [ATTR.statusShard]: { S: pk }, [ATTR.runOrder]: { S: s.after[0] }, [ATTR.id]: { S: s.after[1] } } } : {}),
    }),
  );
  const entries = (res.Items ?? []).map((it) => ({ id: it[ATTR.id]!.S!, runOrder: it[ATTR.runOrder]!.S!, group: it[ATTR.group]?.S }));
  return { entries, more: res.LastEvaluatedKey !== undefined };
}

/** The plain view of an item that {@link matchesRedrive} needs. */
function candidateOf(item: Record<string, AttributeValue>, nowMs: number): RedriveCandidate {
  return {
    status: item[ATTR.status]?.S,
    type: item[ATTR.type]?.S,
    group: item[ATTR.group]?.S,
    error: item[ATTR.error]?.S,
    createdAt: item[ATTR.createdAt]?.S,
    runOrder: item[ATTR.runOrder]?.S,
    redriveId: item[ATTR.redriveId]?.S,
    expired: isExpired(item, nowMs),
  };
}

/**
 * Reads the page's items and puts the matching ones back (or, in a dry run, counts them). Entries
 * of another group are left out before any read (a job's group never changes); a dry run whose
 * filter needs nothing beyond the index counts the entries without reading items.
 */
async function settlePage(ctx: StoreContext, f: NormalizedRedriveFilter, s: RedriveState, entries: readonly { id: string; group: string | undefined }[], concurrency: number): Promise<void> {
  s.counts.examined += entries.length;
  const ids = entries.filter((e) => f.group === null || e.group === f.group).map((e) => e.id);
  if (s.dryRun && !needsItems(f)) {
    s.counts.matched += ids.length;
    return;
  }
  const items = await getItems(ctx, ids, true);
  const now = ctx.clock.now();
  const asOf = iso(s.asOfMs);
  const matches = ids.flatMap((id) => {
    const item = items.get(id);
    return item && matchesRedrive(candidateOf(item, now), f, asOf) ? [item] : [];
  });
  s.counts.matched += matches.length;
  if (s.dryRun) return;
  const done = await mapLimit(matches, concurrency, (item) => (item[ATTR.redriveId]?.S === s.id ? Promise.resolve(false) : retryItem(ctx, item, s.id)));
  const redriven = done.filter(Boolean).length;
  s.counts.redriven += redriven;
  s.counts.skipped += done.length - redriven;
}

function progressOf(s: RedriveState, shardCount: number): RedriveProgress {
  const complete = s.shard >= shardCount;
  return { redriveId: s.id, asOf: new Date(s.asOfMs), ...s.counts, complete, ...(complete ? {} : { cursor: stateCursor(s) }), dryRun: s.dryRun };
}

/**
 * Runs (or resumes, from `o.cursor`) the redrive of the jobs matching `f`, until every shard is
 * done, `o.maxJobs` jobs were examined in this call, or `o.signal` aborts (checked between pages).
 * Calls `o.onProgress` once at the start and after each page; returns the counts so far, with a
 * cursor unless complete.
 * @throws InvalidCursorError for a cursor of another filter, table or mode
 */
export async function redriveJobs(ctx: StoreContext, f: NormalizedRedriveFilter, o: NormalizedRedriveOptions): Promise<RedriveProgress> {
  const key = filterKey(ctx, f);
  const s = o.cursor ? decodeCursor(ctx, o.cursor, key, o.dryRun) : await beginRedrive(ctx, f, key, o.dryRun);
  const range = laneRange(f, s.asOfMs);
  o.onProgress?.(progressOf(s, ctx.shardCount));
  let budget = o.maxJobs;
  while (range && s.shard < ctx.shardCount && budget > 0 && !o.signal?.aborted) {
    const page = await readPage(ctx, f, s, range, Math.min(o.pageSize, budget));
    await settlePage(ctx, f, s, page.entries, o.concurrency);
    budget -= page.entries.length;
    const last = page.entries.at(-1);
    if (page.more && last) s.after = [last.runOrder, last.id];
    else {
      s.shard++;
      s.after = null;
    }
    o.onProgress?.(progressOf(s, ctx.shardCount));
  }
  return progressOf(s, ctx.shardCount);
}
