/** Counts a queue's jobs by status, and finds the oldest due job (for `GET /stats` and `jobtable stats`). */
import { QueryCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import type { AttributeValue, QueryCommandInput } from '@aws-sdk/client-dynamodb';
import { iso, toItem } from '../model/codec.ts';
import { ATTR, LANE, TABLE, decodeRunOrder, statusShardKey } from '../schema.ts';
import type { JobStats, JobStatus } from '../types.ts';
import type { StoreContext } from './context.ts';

/** Runs a query or scan page by page and sums `Count`. */
async function countPages(send: (startKey?: Record<string, AttributeValue>) => Promise<{ Count?: number; LastEvaluatedKey?: Record<string, AttributeValue> }>): Promise<number> {
  let total = 0;
  let startKey: Record<string, AttributeValue> | undefined;
  do {
    const res = await send(startKey);
    total += res.Count ?? 0;
    startKey = res.LastEvaluatedKey;
  } while (startKey);
  return total;
}

/**
 * Pending and processing jobs of one shard's `due` lane, and the earliest due time of a pending
 * job that is due at `nowMs`. Reads only the index keys and the projected status, page by page.
 */
async function countDueShard(ctx: StoreContext, queue: string, shard: number, nowMs: number) {
  let pending = 0;
  let processing = 0;
  let oldestDueMs: number | null = null;
  let startKey: Record<string, AttributeValue> | undefined;
  do {
    const res = await ctx.client.send(
      new QueryCommand({
        TableName: ctx.tableName,
        IndexName: TABLE.indexName,
        KeyConditionExpression: '#pk = :pk',
        ProjectionExpression: '#status, #ro',
        ExpressionAttributeNames: { '#pk': ATTR.statusShard, '#status': ATTR.status, '#ro': ATTR.runOrder },
        ExpressionAttributeValues: { ':pk': { S: statusShardKey(queue, LANE.due, shard) } },
        ...(startKey ? { ExclusiveStartKey: startKey } : {}),
      }),
    );
    for (const item of res.Items ?? []) {
      const status = item[ATTR.status]?.S;
      if (status === 'processing') processing++;
      else if (status === 'pending') {
        pending++;
        const due = decodeRunOrder(item[ATTR.runOrder]?.S ?? '')?.runAtMs;
        if (due !== undefined && due <= nowMs && (oldestDueMs === null || due < oldestDueMs)) oldestDueMs = due;
      }
    }
    startKey = res.LastEvaluatedKey;
  } while (startKey);
  return { pending, processing, oldestDueMs };
}

/**
 * Jobs in one shard of the `failed` or `cancelled` lane that have not expired. Their sort key is
 * the ISO time they finished, so "finished after now minus the retention" is a key condition:
 * records whose TTL has passed (which DynamoDB deletes days late, and DynamoDB Local never) are
 * not counted, exactly as `getJob` and `listJobs` treat them as gone.
 */
function countLaneShard(ctx: StoreContext, queue: string, lane: typeof LANE.failed | typeof LANE.cancelled | typeof LANE.waiting, shard: number, nowMs: number): Promise<number> {
  // Waiting jobs have no TTL: all of them count (no key condition on the sort key).
  if (lane === LANE.waiting) return countIndexKeys(ctx, statusShardKey(queue, lane, shard));
  const keepMs = lane === LANE.failed ? ctx.retention.failedMs : ctx.retention.cancelledMs;
  return countIndexKeys(ctx, statusShardKey(queue, lane, shard), iso(nowMs - keepMs));
}

/**
 * FIFO jobs parked behind their group's head in one shard's `fifo` lane (all pending): index keys
 * only, about 1 read unit per ~50 jobs, 0.5 for an empty shard.
 */
function countParkedShard(ctx: StoreContext, queue: string, shard: number): Promise<number> {
  return countIndexKeys(ctx, statusShardKey(queue, LANE.fifo, shard));
}

/** The index entries of partition `pk` (with a sort key after `after`, if given), counted page by page. */
function countIndexKeys(ctx: StoreContext, pk: string, after?: string): Promise<number> {
  const input: QueryCommandInput = {
    TableName: ctx.tableName,
    IndexName: TABLE.indexName,
    // Keys only, counted here: the same read cost as Select COUNT, which DynamoDB Local was seen
    // to answer short now and then under heavy load.
    KeyConditionExpression: after === undefined ? '#pk = :pk' : '#pk = :pk AND #ro > :cutoff',
    ProjectionExpression: '#ro',
    ExpressionAttributeNames: { '#pk': ATTR.statusShard, '#ro': ATTR.runOrder },
    ExpressionAttributeValues: { ':pk': { S: pk }, ...(after === undefined ? {} : { ':cutoff': { S: after } }) },
  };
  return countPages((startKey) => ctx.client.send(new QueryCommand({ ...input, ...(startKey ? { ExclusiveStartKey: startKey } : {}) })));
}

/** Completed jobs leave the index, so they are counted by a COUNT scan of the whole table. */
function countCompleted(ctx: StoreContext, queue: string, nowMs: number): Promise<number> {
  return countPages((startKey) =>
    ctx.client.send(
      new ScanCommand({
        TableName: ctx.tableName,
        Select: 'COUNT',
        FilterExpression: '#status = :status AND #queue = :queue AND (attribute_not_exists(#ttl) OR #ttl > :now)',
        ExpressionAttributeNames: { '#status': ATTR.status, '#queue': ATTR.queue, '#ttl': ATTR.ttl },
        ExpressionAttributeValues: toItem({ ':status': 'completed', ':queue': queue, ':now': Math.floor(nowMs / 1000) }),
        ...(startKey ? { ExclusiveStartKey: startKey } : {}),
      }),
    ),
  );
}

/**
 * Counts the jobs of `queue` by status, and the age of the oldest pending job that is due.
 *
 * Cost: pending and processing come from the `due` lane of the index (one query per shard,
 * reading index keys only: about 1 read unit per 4 KB of index entries, i.e. per ~50 jobs);
 * failed and cancelled from their lanes (`Select: COUNT`, the same read cost, nothing returned);
 * completed from a COUNT **scan of the whole table** (read units for every item of every queue).
 * That is cheap on DynamoDB Local and on small tables; on a busy table in AWS prefer the
 * CloudWatch metrics the worker publishes, or call this rarely.
 */
export async function countJobs(ctx: StoreContext, queue: string): Promise<JobStats> {
  const nowMs = ctx.clock.now();
  const shards = Array.from({ length: ctx.shardCount }, (_, i) => i);
  const [due, failed, cancelled, completed, waiting, parked] = await Promise.all([
    Promise.all(shards.map((s) => countDueShard(ctx, queue, s, nowMs))),
    Promise.all(shards.map((s) => countLaneShard(ctx, queue, LANE.failed, s, nowMs))),
    Promise.all(shards.map((s) => countLaneShard(ctx, queue, LANE.cancelled, s, nowMs))),
    countCompleted(ctx, queue, nowMs),
    Promise.all(shards.map((s) => countLaneShard(ctx, queue, LANE.waiting, s, nowMs))),
    Promise.all(shards.map((s) => countParkedShard(ctx, queue, s))), // FIFO jobs behind their group's head are pending too
  ]);
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const oldest = due.map((d) => d.oldestDueMs).filter((v): v is number => v !== null);
  const oldestDueMs = oldest.length ? Math.min(...oldest) : null;
  const counts: Record<JobStatus, number> = {
    waiting: sum(waiting),
    pending: sum(due.map((d) => d.pending)) + sum(parked),
    processing: sum(due.map((d) => d.processing)),
    completed,
    failed: sum(failed),
    cancelled: sum(cancelled),
  };
  return {
    queue,
    counts,
    total: sum(Object.values(counts)),
    oldestDueAt: oldestDueMs === null ? null : new Date(oldestDueMs),
    oldestDueAgeMs: oldestDueMs === null ? null : Math.max(0, nowMs - oldestDueMs),
    countedAt: new Date(nowMs),
  };
}
