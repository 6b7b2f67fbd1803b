/**
 * Enqueues a FIFO job: takes the next position of its group and writes the job, in one
 * transaction. See docs/design.md, "FIFO per group".
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { AttributeValue, TransactWriteItem } from '@aws-sdk/client-dynamodb';
import { JobTableError } from '../errors.ts';
import { iso } from '../model/codec.ts';
import { fifoGroupId, fifoJobId, fifoShard } from '../model/fifo.ts';
import { ATTR, LANE, statusShardKey } from '../schema.ts';
import type { StoreContext } from './context.ts';
import { transactWrite } from './transact.ts';

/** A FIFO group's counters, as read (an absent item reads as a new, idle group). */
export interface GroupState {
  readonly exists: boolean;
  /** Last position handed out (0: none yet). */
  readonly enq: number;
  /** Position allowed to run; `enq + 1` when every job of the group has finished (idle). */
  readonly head: number;
}

/** Rounds of read-then-write before giving up under contention on one group. */
const MAX_ROUNDS = 50;

/** Reads a group's counters (strongly consistent). */
export async function readGroup(ctx: StoreContext, queue: string, group: string): Promise<GroupState> {
  const got = await ctx.client.send(
    new GetItemCommand({
      TableName: ctx.tableName,
      Key: { [ATTR.id]: { S: fifoGroupId(queue, group) } },
      ConsistentRead: true,
      ProjectionExpression: '#enq, #head',
      ExpressionAttributeNames: { '#enq': ATTR.enqSeq, '#head': ATTR.headSeq },
    }),
  );
  if (!got.Item) return { exists: false, enq: 0, head: 1 };
  return { exists: true, enq: Number(got.Item[ATTR.enqSeq]?.N ?? 0), head: Number(got.Item[ATTR.headSeq]?.N ?? 1) };
}

/**
 * The condition that the group's item still holds the counters `g` read: every FIFO write that
 * decided something from them carries it, so two writers that read the same state cannot both act.
 */
export function groupUnchanged(g: GroupState): Pick<NonNullable<TransactWriteItem['Update']>, 'ConditionExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'> {
  if (!g.exists) return { ConditionExpression: 'attribute_not_exists(#id)', ExpressionAttributeNames: { '#id': ATTR.id } };
  return {
    ConditionExpression: '#enq = :seen_enq AND #head = :seen_head',
    ExpressionAttributeNames: { '#enq': ATTR.enqSeq, '#head': ATTR.headSeq },
    ExpressionAttributeValues: { ':seen_enq': { N: String(g.enq) }, ':seen_head': { N: String(g.head) } },
  };
}

/**
 * Writes `base` (a new job's item, built as for any job) as the next job of `group`:
 *
 * 1. Reads the group's item `fifo#<queue>#<group>` (consistent): `enq_seq`, `head_seq`.
 * 2. One transaction: the group's `enq_seq` set to `enq + 1` (created with `head_seq = 1` if new),
 *    conditional on both counters being what step 1 read; and the job put with `fifo_seq = enq + 1`,
 *    id {@link fifoJobId}, in its group's shard: in the `due` lane if the group was idle (its head is
 *    this very position), else in the `fifo` lane, where no worker reads and whence the completion of
 *    the job before it moves it.
 *
 * The condition closes the races: two enqueues to one group that read the same `enq` (one wins, the
 * other reads again and takes the next position, so positions follow the order in which the
 * transactions landed and have no gap); and an enqueue that saw the group busy while its head
 * finished meanwhile (`head_seq` moved: read again, so the job is not parked in the `fifo` lane with
 * nobody left to move it). Position and job are written together, so a crash cannot leave a
 * position without its job, which would block the group.
 *
 * With an idempotency key, a third item records it (see {@link dedupPut}): a key already used in
 * the queue returns that job's id (`created: false`) and writes nothing.
 *
 * @returns the job's id
 * @throws JobTableError `FIFO_CONTENTION` after {@link MAX_ROUNDS} rounds lost to other writers of the group
 */
export async function fifoEnqueue(ctx: StoreContext, base: Record<string, AttributeValue>, group: string): Promise<{ id: string; seq: number; shard: number; created: boolean }> {
  const queue = base[ATTR.queue]!.S!;
  const shard = fifoShard(group, ctx.shardCount);
  const key = base[ATTR.idempotencyKey]?.S;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const g = await readGroup(ctx, queue, group);
    const seq = g.enq + 1;
    const id = fifoJobId(queue, group, seq);
    const lane = g.head === seq ? LANE.due : LANE.fifo;
    const item = { ...base, [ATTR.id]: { S: id }, [ATTR.statusShard]: { S: statusShardKey(queue, lane, shard) }, [ATTR.fifoSeq]: { N: String(seq) }, [ATTR.group]: { S: group } };
    const items = [groupCount(ctx, queue, group, g, seq), { Put: { TableName: ctx.tableName, Item: item, ConditionExpression: 'attribute_not_exists(#id)', ExpressionAttributeNames: { '#id': ATTR.id } } }];
    if (key !== undefined) items.push(dedupPut(ctx, queue, key, id));
    const outcome = await transactWrite(ctx, items, { returnConflicts: true });
    if (outcome.applied) return { id, seq, shard, created: true };
    const existing = outcome.reasons[2]?.Code === 'ConditionalCheckFailed' ? outcome.reasons[2].Item?.[ATTR.pointsTo]?.S : undefined;
    if (existing !== undefined) return { id: existing, seq: 0, shard, created: false };
    // Another enqueue took the position: read again after a jittered pause that grows with the contention.
    await new Promise((r) => setTimeout(r, ctx.random() * Math.min(200, 5 * 2 ** Math.min(round, 6))));
  }
  throw new JobTableError(`FIFO group "${group}" of queue "${queue}" is too contended: ${MAX_ROUNDS} rounds lost to other enqueues`, 'FIFO_CONTENTION', { queue, group });
}

/** How long a FIFO job's idempotency key holds, from its enqueue: the default retention of a dead letter. */
export const FIFO_DEDUP_RETENTION_MS = 30 * 86_400_000;

/**
 * The idempotency record of a FIFO job (`fifo-key#<queue>#<key>`, naming the job), put only if the
 * key is not taken (or its record expired): a second enqueue with the key finds the first job's id
 * in the failed condition and writes nothing. (A FIFO job's id follows its position, so the key
 * cannot be its id as for other jobs.)
 */
function dedupPut(ctx: StoreContext, queue: string, key: string, jobId: string): TransactWriteItem {
  const now = ctx.clock.now();
  const ttl = Math.floor((now + FIFO_DEDUP_RETENTION_MS) / 1000);
  return {
    Put: {
      TableName: ctx.tableName,
      Item: { [ATTR.id]: { S: `fifo-key#${queue}#${key}` }, [ATTR.pointsTo]: { S: jobId }, [ATTR.ttl]: { N: String(ttl) }, [ATTR.expiresAt]: { S: iso(ttl * 1000) } },
      ConditionExpression: 'attribute_not_exists(#id) OR #ttl <= :now',
      ExpressionAttributeNames: { '#id': ATTR.id, '#ttl': ATTR.ttl },
      ExpressionAttributeValues: { ':now': { N: String(Math.floor(now / 1000)) } },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    },
  };
}

/** The group item's update that hands out position `seq`. */
function groupCount(ctx: StoreContext, queue: string, group: string, g: GroupState, seq: number): TransactWriteItem {
  const cond = groupUnchanged(g);
  return {
    Update: {
      TableName: ctx.tableName,
      Key: { [ATTR.id]: { S: fifoGroupId(queue, group) } },
      UpdateExpression: 'SET #enq = :seq, #head = if_not_exists(#head, :one), #queue = :queue, #group = :group, #updated = :now',
      ConditionExpression: cond.ConditionExpression,
      ExpressionAttributeNames: { ...cond.ExpressionAttributeNames, '#enq': ATTR.enqSeq, '#head': ATTR.headSeq, '#queue': ATTR.queue, '#group': ATTR.group, '#updated': ATTR.updatedAt },
      ExpressionAttributeValues: {
        ...cond.ExpressionAttributeValues,
        ':seq': { N: String(seq) },
        ':one': { N: '1' },
        ':queue': { S: queue },
        ':group': { S: group },
        ':now': { S: iso(ctx.clock.now()) },
      },
    },
  };
}
