/**
 * Bounded counts of one queue for the operator's dashboard: how many jobs wait to run, wait for a
 * later due time (delayed), run, failed or were cancelled. Unlike `countJobs` (exact, and a scan of
 * the whole table for completed jobs), every lane is read from the index with a cap, so a refresh
 * costs the same on a table of a thousand jobs and on one of a hundred million.
 */
import { QueryCommand } from '@aws-sdk/client-dynamodb';
import type { AttributeValue, QueryCommandInput } from '@aws-sdk/client-dynamodb';
import { iso } from '../model/codec.ts';
import { ATTR, LANE, SCHEDULED_PREFIX, TABLE, decodeRunOrder, statusShardKey } from '../schema.ts';
import type { StoreContext } from './context.ts';

/** Index entries read per lane and queue at most, unless told otherwise. */
export const DEFAULT_COUNT_CAP = 1_000;

/** Counts of one queue; a count whose lane reached the cap is a lower bound (`capped`). */
export interface QueueCounts {
  readonly queue: string;
  /** Pending jobs that are due: they run as soon as a worker is free. */
  readonly waiting: number;
  /** Pending jobs whose due time is still ahead (a delay, or a retry's backoff). */
  readonly delayed: number;
  readonly processing: number;
  /** Dead letters still retained. */
  readonly failed: number;
  readonly cancelled: number;
  /** Jobs with status `waiting` (for their children or `dependsOn` jobs): never run until released. */
  readonly waitingForDependencies: number;
  /** Which lanes reached the cap: their counts are "at least". */
  readonly capped: { readonly due: boolean; readonly failed: boolean; readonly cancelled: boolean };
  /** How long the oldest waiting job has been due, in ms; null if none is (among those read). */
  readonly oldestWaitingMs: number | null;
  /** Read units the counting consumed (as DynamoDB reported them). */
  readonly readUnits: number;
}

/** One query's items and what it cost; `full` if it stopped at its limit with more to read. */
interface LanePage {
  readonly items: Record<string, AttributeValue>[];
  readonly full: boolean;
  readonly readUnits: number;
}

/** Reads one shard of one lane, at most `limit` entries, in as many pages as DynamoDB needs. */
async function readLaneShard(ctx: StoreContext, input: Omit<QueryCommandInput, 'TableName' | 'IndexName'>, limit: number): Promise<LanePage> {
  const items: Record<string, AttributeValue>[] = [];
  let readUnits = 0;
  let startKey: Record<string, AttributeValue> | undefined;
  do {
    const res = await ctx.client.send(
      new QueryCommand({
        ...input,
        TableName: ctx.tableName,
        IndexName: TABLE.indexName,
        Limit: limit - items.length,
        ReturnConsumedCapacity: 'TOTAL',
        ...(startKey ? { ExclusiveStartKey: startKey } : {}),
      }),
    );
    items.push(...(res.Items ?? []));
    readUnits += res.ConsumedCapacity?.CapacityUnits ?? 0;
    startKey = res.LastEvaluatedKey;
  } while (startKey && items.length < limit);
  return { items, full: !!startKey, readUnits };
}

/** Sorts one shard's `due` entries into waiting, delayed and processing. */
function tallyDue(items: readonly Record<string, AttributeValue>[], nowMs: number) {
  let waiting = 0;
  let delayed = 0;
  let processing = 0;
  let oldestDueMs: number | null = null;
  for (const item of items) {
    if (item[ATTR.status]?.S === 'processing') {
      processing++;
      continue;
    }
    const order = item[ATTR.runOrder]?.S ?? '';
    const due = decodeRunOrder(order)?.runAtMs ?? nowMs;
    if (order.startsWith(SCHEDULED_PREFIX) && due > nowMs) {
      delayed++;
    } else {
      waiting++;
      if (oldestDueMs === null || due < oldestDueMs) oldestDueMs = due;
    }
  }
  return { waiting, delayed, processing, oldestDueMs };
}

/** Entries of the `failed` or `cancelled` lane of one shard still within their retention. */
function readTimeLaneShard(ctx: StoreContext, queue: string, lane: typeof LANE.failed | typeof LANE.cancelled | typeof LANE.waiting, shard: number, nowMs: number, limit: number) {
  // Waiting jobs have no TTL: every entry counts (every ISO time sorts after "0").
  const cutoff = lane === LANE.waiting ? '0' : iso(nowMs - (lane === LANE.failed ? ctx.retention.failedMs : ctx.retention.cancelledMs));
  return readLaneShard(
    ctx,
    {
      KeyConditionExpression: '#pk = :pk AND #ro > :cutoff',
      ProjectionExpression: '#ro',
      ExpressionAttributeNames: { '#pk': ATTR.statusShard, '#ro': ATTR.runOrder },
      ExpressionAttributeValues: { ':pk': { S: statusShardKey(queue, lane, shard) }, ':cutoff': { S: cutoff } },
    },
    limit,
  );
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

/**
 * Counts `queue` from its index lanes, reading at most about `cap` entries per lane (split evenly
 * over the shards; a shard that has more marks its lane `capped`).
 *
 * Cost (eventually consistent reads, 0.5 read unit per 4 KB): one query per shard and lane, 4 × the
 * shard count (64 for 16 shards: due, failed, cancelled, waiting); a due-lane entry is ~150 bytes and a failed or cancelled key ~90,
 * so an idle queue costs the queries' minimum and a queue at the cap about 20 + 12 + 12 read units.
 * `readUnits` reports what DynamoDB actually charged.
 */
export async function countQueue(ctx: StoreContext, queue: string, cap = DEFAULT_COUNT_CAP): Promise<QueueCounts> {
  const nowMs = ctx.clock.now();
  const perShard = Math.max(1, Math.ceil(cap / ctx.shardCount));
  const shards = Array.from({ length: ctx.shardCount }, (_, i) => i);
  const duePages = Promise.all(
    shards.map((s) =>
      readLaneShard(
        ctx,
        {
          KeyConditionExpression: '#pk = :pk',
          ProjectionExpression: '#status, #ro',
          ExpressionAttributeNames: { '#pk': ATTR.statusShard, '#status': ATTR.status, '#ro': ATTR.runOrder },
          ExpressionAttributeValues: { ':pk': { S: statusShardKey(queue, LANE.due, s) } },
        },
        perShard,
      ),
    ),
  );
  const [due, failed, cancelled] = await Promise.all([
    duePages,
    Promise.all(shards.map((s) => readTimeLaneShard(ctx, queue, LANE.failed, s, nowMs, perShard))),
    Promise.all(shards.map((s) => readTimeLaneShard(ctx, queue, LANE.cancelled, s, nowMs, perShard))),
  ]);
  const waitingLane = await Promise.all(shards.map((s) => readTimeLaneShard(ctx, queue, LANE.waiting, s, nowMs, perShard)));
  const tallies = due.map((p) => tallyDue(p.items, nowMs));
  const oldest = tallies.map((t) => t.oldestDueMs).filter((v): v is number => v !== null);
  return {
    queue,
    waiting: sum(tallies.map((t) => t.waiting)),
    delayed: sum(tallies.map((t) => t.delayed)),
    processing: sum(tallies.map((t) => t.processing)),
    failed: sum(failed.map((p) => p.items.length)),
    cancelled: sum(cancelled.map((p) => p.items.length)),
    waitingForDependencies: sum(waitingLane.map((p) => p.items.length)),
    capped: { due: due.some((p) => p.full), failed: failed.some((p) => p.full), cancelled: cancelled.some((p) => p.full) },
    oldestWaitingMs: oldest.length ? Math.max(0, nowMs - Math.min(...oldest)) : null,
    readUnits: sum([...due, ...failed, ...cancelled, ...waitingLane].map((p) => p.readUnits)),
  };
}
