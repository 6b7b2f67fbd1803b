/** Redrives a failed or cancelled job. */
import { GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { isExpired, iso, toItem } from '../model/codec.ts';
import { ATTR, LANE, encodeReadyOrder, statusShardKey } from '../schema.ts';
import { shardOf } from './cancel-job.ts';
import { isConditionFailed } from './context.ts';
import { isOwnWrite, newWriteId } from './fenced-update.ts';
import type { StoreContext } from './context.ts';

/**
 * Puts a failed or cancelled job back to pending, due now, with its attempts reset to 0;
 * returns true only then. The last error is kept for reference; result, progress and TTL are
 * cleared.
 *
 * Reads the item (consistently), then writes it with {@link retryItem}.
 */
export async function retryJob(ctx: StoreContext, id: string): Promise<boolean> {
  const got = await ctx.client.send(new GetItemCommand({ TableName: ctx.tableName, Key: { [ATTR.id]: { S: id } }, ConsistentRead: true }));
  return got.Item ? retryItem(ctx, got.Item) : false;
}

/**
 * Puts the job of `item` (as just read) back to pending, due now, attempts reset; true only if
 * the write happened.
 *
 * The write's condition is `status = :seen AND run_order = :seenOrder AND (no ttl OR ttl > now)`:
 * two concurrent redrives cannot both succeed (the first changes the status), a job that failed
 * or was cancelled again since the read (a new `run_order`) is left to whoever read that, and an
 * expired record, which reads as gone, is not revived. With `redriveId` (a bulk redrive) the
 * write also records it in `redrive_id` and requires that the item does not hold it yet: a bulk
 * redrive puts each job back at most once, even when it passes over the job again after the job
 * ran and failed again. The write records a write id in `last_fenced_write`, so an SDK retry of
 * a redrive that landed (answer lost) reports true.
 */
export async function retryItem(ctx: StoreContext, item: Record<string, AttributeValue>, redriveId?: string): Promise<boolean> {
  const now = ctx.clock.now();
  const status = item[ATTR.status]?.S;
  if ((status !== 'failed' && status !== 'cancelled') || isExpired(item, now)) return false;
  // A FIFO job's group has moved on: put back, it would run beside the group's head (see docs/design.md).
  if (item[ATTR.fifoSeq]) return false;
  const id = item[ATTR.id]!.S!;
  const priority = Number(item[ATTR.priority]?.N ?? 0);
  const writeId = newWriteId();
  const once = redriveId !== undefined;
  try {
    await ctx.client.send(
      new UpdateItemCommand({
        TableName: ctx.tableName,
        Key: { [ATTR.id]: { S: id } },
        ConditionExpression: `#status = :seen AND #ro = :seen_ro AND (attribute_not_exists(#ttl) OR #ttl > :now_s)${once ? ' AND (attribute_not_exists(#rid) OR #rid <> :rid)' : ''}`,
        UpdateExpression: `SET #write = :write, #status = :pending, #attempts = :zero, #run_at = :now, #updated = :now, #shard = :shard, #ro = :ro${once ? ', #rid = :rid' : ''} REMOVE #ttl, #expires, #finished, #result, #progress, #token`,
        ExpressionAttributeNames: {
          '#write': ATTR.lastFencedWrite,
          '#status': ATTR.status,
          '#ro': ATTR.runOrder,
          '#ttl': ATTR.ttl,
          '#attempts': ATTR.attempts,
          '#run_at': ATTR.runAt,
          '#updated': ATTR.updatedAt,
          '#shard': ATTR.statusShard,
          '#expires': ATTR.expiresAt,
          '#finished': ATTR.finishedAt,
          '#result': ATTR.result,
          '#progress': ATTR.progress,
          '#token': ATTR.claimToken,
          ...(once ? { '#rid': ATTR.redriveId } : {}),
        },
        ExpressionAttributeValues: toItem({
          ':write': writeId,
          ':seen': status,
          ':seen_ro': item[ATTR.runOrder]?.S ?? '',
          ':now_s': Math.floor(now / 1000),
          ':pending': 'pending',
          ':zero': 0,
          ':now': iso(now),
          ':shard': statusShardKey(item[ATTR.queue]!.S!, LANE.due, shardOf(item[ATTR.statusShard]?.S)),
          ':ro': encodeReadyOrder(priority, now),
          ...(once ? { ':rid': redriveId } : {}),
        }),
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return true;
  } catch (err) {
    // A retry of this write (by the SDK) whose first send landed, answer lost, finds its own id.
    if (isConditionFailed(err)) return isOwnWrite(err.Item, writeId);
    throw err;
  }
}
