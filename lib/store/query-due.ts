/** Reads claim candidates from one shard of the status/run_at index. */
import { QueryCommand } from '@aws-sdk/client-dynamodb';
import type { AttributeValue, QueryCommandOutput } from '@aws-sdk/client-dynamodb';
import { isClaimable } from '../model/state.ts';
import { ATTR, LANE, READY_PREFIX, TABLE, decodeRunOrder, statusShardKey, SCHEDULED_PREFIX } from '../schema.ts';
import type { JobStatus } from '../types.ts';
import type { StoreContext } from './context.ts';

/** A job a worker may try to claim, as the index shows it. */
export interface Candidate {
  readonly id: string;
  readonly shard: number;
  /** The index sort key seen; the claim is conditional on it being unchanged. */
  readonly runOrder: string;
  readonly priority: number;
  readonly runAtMs: number;
  readonly status: JobStatus;
  readonly leaseUntilMs: number | null;
  readonly timeoutMs: number;
  /** The job's group (projected into the index), if it has one. */
  readonly group?: string;
  /** When the read that found this entry was sent (epoch ms): what a lagging index showed is older. */
  readonly seenAtMs?: number;
}

/** An index entry held by a live lease, as a read saw it (the lease and timeout tell when it was claimed). */
export type LeasedEntry = Pick<Candidate, 'id' | 'runOrder'> & Partial<Pick<Candidate, 'leaseUntilMs' | 'timeoutMs'>>;

/** Where a read of a shard stopped, per range: the key to continue after (absent: range fully read). */
export interface DueCursor {
  readonly ready?: Record<string, AttributeValue>;
  readonly scheduled?: Record<string, AttributeValue>;
}

/** What one shard read returned. */
export interface DueRead {
  /** Claimable now, highest priority first, then oldest. */
  readonly candidates: Candidate[];
  /** Queries made (for cost accounting). */
  readonly queries: number;
  /** True if a range may hold more claimable entries than were returned. */
  readonly truncated: boolean;
  /** Where to continue the ranges that were cut short (see `truncated`); null if none was. */
  readonly cursor: DueCursor | null;
  /** When the earliest entry seen that is not claimable yet becomes so (a future run or a live lease). */
  readonly nextDueMs: number | null;
  /** Entries seen held by a live lease (a worker is running them): who works this shard, and since when. */
  readonly leased: readonly LeasedEntry[];
}

function toCandidate(item: Record<string, AttributeValue>, shard: number, seenAtMs: number): Candidate | null {
  const runOrder = item[ATTR.runOrder]?.S;
  const decoded = runOrder ? decodeRunOrder(runOrder) : null;
  if (!runOrder || !decoded) return null;
  const lease = item[ATTR.leaseUntil]?.S;
  return {
    id: item[ATTR.id]!.S!,
    shard,
    runOrder,
    priority: decoded.priority,
    runAtMs: decoded.runAtMs,
    status: (item[ATTR.status]?.S ?? 'pending') as JobStatus,
    leaseUntilMs: lease ? Date.parse(lease) : null,
    timeoutMs: Number(item[ATTR.timeoutMs]?.N ?? 0),
    ...(item[ATTR.group]?.S !== undefined ? { group: item[ATTR.group].S } : {}),
    seenAtMs,
  };
}

/** Orders candidates: priority descending, then due time ascending. */
export function compareCandidates(a: Candidate, b: Candidate): number {
  return b.priority - a.priority || a.runAtMs - b.runAtMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** Pages read per range of one shard before giving up on finding `limit` candidates. */
export const MAX_PAGES_PER_RANGE = 8;

/**
 * Reads one shard's `due` lane: the ready range (`0#...`, priority then age) and the scheduled
 * range (`1#...`, by due time, whose due entries are a prefix; the first entry not yet due tells
 * when to look again, at no extra cost), in parallel. No promotion write moves a delayed job into
 * the ready range; both ranges are merged here.
 *
 * Running jobs keep their entries at the head of a range, so each range is paged until `limit`
 * claimable candidates are found (or {@link MAX_PAGES_PER_RANGE} pages): jobs queued behind
 * many running ones are still found. `exclude` drops candidates the caller has already ruled out.
 * GSI reads are eventually consistent, so a candidate is only a hint: the claim re-checks
 * everything on the base item.
 *
 * `from` continues an earlier read where its `cursor` left off, reading only the ranges it names
 * (one query each instead of re-reading the head of the shard, which running jobs occupy).
 */
export async function queryDue(
  ctx: StoreContext,
  queue: string,
  shard: number,
  limit: number,
  exclude?: (c: Candidate) => boolean,
  from?: DueCursor,
): Promise<DueRead> {
  const now = ctx.clock.now();
  const pk = statusShardKey(queue, LANE.due, shard);
  const candidates: Candidate[] = [];
  const leased: LeasedEntry[] = [];
  let nextDueMs: number | null = null;
  let queries = 0;
  let truncated = false;
  const cursor: { ready?: Record<string, AttributeValue>; scheduled?: Record<string, AttributeValue> } = {};

  const readRange = async (prefix: string, range: keyof DueCursor) => {
    let startKey: Record<string, AttributeValue> | undefined = from?.[range];
    let found = 0;
    for (let page = 0; page < MAX_PAGES_PER_RANGE; page++) {
      queries++;
      const res: QueryCommandOutput = await ctx.client.send(
        new QueryCommand({
          TableName: ctx.tableName,
          IndexName: TABLE.indexName,
          Limit: limit,
          KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
          ExpressionAttributeNames: { '#pk': ATTR.statusShard, '#sk': ATTR.runOrder },
          ExpressionAttributeValues: { ':pk': { S: pk }, ':prefix': { S: prefix } },
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      );
      let reachedFuture = false;
      for (const item of res.Items ?? []) {
        const c = toCandidate(item, shard, now);
        if (!c) continue;
        if (isClaimable(c, now)) {
          if (!exclude?.(c)) {
            candidates.push(c);
            found++;
          }
        } else if (c.runAtMs > now) {
          nextDueMs = Math.min(nextDueMs ?? Infinity, c.runAtMs);
          reachedFuture = prefix === SCHEDULED_PREFIX; // the rest of the scheduled range is later still
        } else if (c.leaseUntilMs !== null) {
          nextDueMs = Math.min(nextDueMs ?? Infinity, c.leaseUntilMs);
          leased.push({ id: c.id, runOrder: c.runOrder, leaseUntilMs: c.leaseUntilMs, timeoutMs: c.timeoutMs });
        }
      }
      startKey = res.LastEvaluatedKey;
      if (!startKey || reachedFuture) return;
      if (found >= limit) break;
    }
    truncated = true;
    cursor[range] = startKey;
  };
  const ranges = from ? (['ready', 'scheduled'] as const).filter((r) => from[r]) : (['ready', 'scheduled'] as const);
  await Promise.all(ranges.map((r) => readRange(r === 'ready' ? READY_PREFIX : SCHEDULED_PREFIX, r)));
  candidates.sort(compareCandidates);
  return { candidates, queries, truncated, cursor: truncated ? cursor : null, nextDueMs, leased };
}

/**
 * The earliest due time of a scheduled (delayed or backing-off) job in one shard, or null. One
 * query of at most one item: used to decide how long an idle worker may sleep.
 */
export async function nextScheduledMs(ctx: StoreContext, queue: string, shard: number): Promise<number | null> {
  const res = await ctx.client.send(
    new QueryCommand({
      TableName: ctx.tableName,
      IndexName: TABLE.indexName,
      Limit: 1,
      KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :sched)',
      ExpressionAttributeNames: { '#pk': ATTR.statusShard, '#sk': ATTR.runOrder },
      ExpressionAttributeValues: { ':pk': { S: statusShardKey(queue, LANE.due, shard) }, ':sched': { S: SCHEDULED_PREFIX } },
    }),
  );
  const ro = res.Items?.[0]?.[ATTR.runOrder]?.S;
  return ro ? (decodeRunOrder(ro)?.runAtMs ?? null) : null;
}
