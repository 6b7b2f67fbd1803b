/** Cancels a pending or waiting job. */
import { GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { cancelFifoJob } from './fifo-cancel.ts';
import { iso, toItem } from '../model/codec.ts';
import { expiryFor } from '../model/state.ts';
import { ATTR, LANE, statusShardKey } from '../schema.ts';
import { isConditionFailed } from './context.ts';
import { isOwnWrite, newWriteId } from './fenced-update.ts';
import type { StoreContext } from './context.ts';

/** The shard number in a `status_shard` value (`<queue>#<lane>#<NN>`). */
export function shardOf(statusShard: string | undefined): number {
  const n = Number(statusShard?.split('#').pop());
  return Number.isInteger(n) && n >= 0 ? n : 0;
}

/**
 * Cancels job `id` if it is pending (not yet claimed) or waiting; returns true only then.
 *
 * Reads the item, then writes with the condition `status = :seen AND run_order = :seenOrder`
 * (`:seen` is `pending` or `waiting`). The condition closes the race with a worker claiming the
 * job between the read and the write (the claim makes it processing), with its release from
 * waiting (which changes its status), and with a concurrent retry or cancel (which change the
 * sort key). The job moves to the `cancelled` lane of the index and gets its TTL. The write
 * records a write id in `last_fenced_write`, so an SDK retry of a cancel that landed (answer
 * lost) reports true. Jobs that wait for this one are not counted here: see
 * `lib/dependencies/cancel.ts`.
 */
export async function cancelJob(ctx: StoreContext, id: string): Promise<boolean> {
  const got = await ctx.client.send(new GetItemCommand({ TableName: ctx.tableName, Key: { [ATTR.id]: { S: id } }, ConsistentRead: true }));
  const item = got.Item;
  if (!item || !isCancellable(item)) return false;
  return cancelSeen(ctx, item);
}

/** True if the item is a job that may be cancelled: pending or waiting, with an index entry. */
export function isCancellable(item: Record<string, AttributeValue>): boolean {
  const status = item[ATTR.status]?.S;
  return (status === 'pending' || status === 'waiting') && !!item[ATTR.runOrder]?.S;
}

/** Writes the cancel of a job read as `item` (see {@link cancelJob}); `condition` is ANDed to its own. */
export async function cancelSeen(ctx: StoreContext, item: Record<string, AttributeValue>, condition?: { expression: string; names: Record<string, string>; values?: Record<string, AttributeValue> }): Promise<boolean> {
  const writeId = newWriteId();
  // A FIFO job's cancel also moves its group's head on, in one transaction (see fifo-cancel.ts).
  if (item[ATTR.fifoSeq] && !condition) return cancelFifoJob(ctx, item, (it) => cancelInput(ctx, it, writeId), writeId);
  const input = cancelInput(ctx, item, writeId);
  if (condition) {
    input.ConditionExpression = `${input.ConditionExpression} AND (${condition.expression})`;
    Object.assign(input.ExpressionAttributeNames, condition.names);
    Object.assign(input.ExpressionAttributeValues, condition.values ?? {});
  }
  try {
    await ctx.client.send(new UpdateItemCommand({ ...input, ReturnValuesOnConditionCheckFailure: 'ALL_OLD' }));
    return true;
  } catch (err) {
    // A retry of this write (by the SDK) whose first send landed, answer lost, finds its own id.
    if (isConditionFailed(err)) return isOwnWrite(err.Item, writeId);
    throw err;
  }
}

/** The cancel's conditional update of a job read as `item` (an UpdateItem or transaction `Update` input). */
export function cancelInput(ctx: StoreContext, item: Record<string, AttributeValue>, writeId: string) {
  const now = ctx.clock.now();
  const ttl = expiryFor('cancelled', now, ctx.retention, item[ATTR.idempotencyKey]?.S);
  return {
    TableName: ctx.tableName,
    Key: { [ATTR.id]: { S: item[ATTR.id]!.S! } },
    ConditionExpression: '#status = :seen_status AND #ro = :seen',
    UpdateExpression: 'SET #write = :write, #status = :cancelled, #finished = :now, #updated = :now, #ttl = :ttl, #expires = :expires, #shard = :shard, #ro = :now',
    ExpressionAttributeNames: {
      '#write': ATTR.lastFencedWrite,
      '#status': ATTR.status,
      '#ro': ATTR.runOrder,
      '#finished': ATTR.finishedAt,
      '#updated': ATTR.updatedAt,
      '#ttl': ATTR.ttl,
      '#expires': ATTR.expiresAt,
      '#shard': ATTR.statusShard,
    } as Record<string, string>,
    ExpressionAttributeValues: toItem({
      ':write': writeId,
      ':seen_status': item[ATTR.status]!.S!,
      ':seen': item[ATTR.runOrder]!.S!,
      ':cancelled': 'cancelled',
      ':now': iso(now),
      ':ttl': ttl,
      ':expires': iso(ttl * 1000),
      ':shard': statusShardKey(item[ATTR.queue]!.S!, LANE.cancelled, shardOf(item[ATTR.statusShard]?.S)),
    }),
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
  };
}
