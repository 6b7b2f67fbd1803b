/** Cancels a pending job. */
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
 * Cancels job `id` if it is pending (not yet claimed); returns true only then.
 *
 * Reads the item, then writes with the condition `status = pending AND run_order = :seen`. The
 * condition closes the race with a worker claiming the job between the read and the write (the
 * claim makes it processing) and with a concurrent retry or cancel (which change the sort key).
 * The job moves to the `cancelled` lane of the index and gets its TTL. The write records a write
 * id in `last_fenced_write`, so an SDK retry of a cancel that landed (answer lost) reports true.
 */
export async function cancelJob(ctx: StoreContext, id: string): Promise<boolean> {
  const got = await ctx.client.send(new GetItemCommand({ TableName: ctx.tableName, Key: { [ATTR.id]: { S: id } }, ConsistentRead: true }));
  const item = got.Item;
  if (!item || item[ATTR.status]?.S !== 'pending' || !item[ATTR.runOrder]?.S) return false;
  const writeId = newWriteId();
  const input = cancelInput(ctx, item, writeId);
  if (item[ATTR.fifoSeq]) return cancelFifoJob(ctx, item, (it) => cancelInput(ctx, it, writeId), writeId);
  try {
    await ctx.client.send(new UpdateItemCommand(input));
    return true;
  } catch (err) {
    // A retry of this write (by the SDK) whose first send landed, answer lost, finds its own id.
    if (isConditionFailed(err)) return isOwnWrite(err.Item, writeId);
    throw err;
  }
}

/** The cancel's conditional update of `item` (as just read), recording `writeId`. See {@link cancelJob}. */
export function cancelInput(ctx: StoreContext, item: Record<string, AttributeValue>, writeId: string) {
  const now = ctx.clock.now();
  const ttl = expiryFor('cancelled', now, ctx.retention, item[ATTR.idempotencyKey]?.S);
  return {
    TableName: ctx.tableName,
    Key: { [ATTR.id]: { S: item[ATTR.id]!.S! } },
    ConditionExpression: '#status = :pending AND #ro = :seen',
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
    },
    ExpressionAttributeValues: toItem({
      ':write': writeId,
      ':pending': 'pending',
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
