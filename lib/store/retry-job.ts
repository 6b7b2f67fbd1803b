/** Redrives a failed or cancelled job. */
import { GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { isExpired, iso, toItem } from '../model/codec.ts';
import { ATTR, LANE, encodeReadyOrder, statusShardKey } from '../schema.ts';
import { shardOf } from './cancel-job.ts';
import { isConditionFailed } from './context.ts';
import { landedEarlier, newWriteId } from './fenced-update.ts';
import type { StoreContext } from './context.ts';

/**
 * Puts a failed or cancelled job back to pending, due now, with its attempts reset to 0;
 * returns true only then. The last error is kept for reference; result, progress and TTL are
 * cleared.
 *
 * Reads the item, then writes with the condition `status = :seen AND run_order = :seenOrder AND
 * (no ttl OR ttl > now)`: two concurrent redrives cannot both succeed (the first changes the
 * status), and an expired record, which reads as gone, is not revived. The write records a write
 * id in `last_fenced_write`, so an SDK retry of a redrive that landed (answer lost) reports true.
 */
export async function retryJob(ctx: StoreContext, id: string): Promise<boolean> {
  const got = await ctx.client.send(new GetItemCommand({ TableName: ctx.tableName, Key: { [ATTR.id]: { S: id } }, ConsistentRead: true }));
  const item = got.Item;
  const now = ctx.clock.now();
  const status = item?.[ATTR.status]?.S;
  if (!item || (status !== 'failed' && status !== 'cancelled') || isExpired(item, now)) return false;
  const priority = Number(item[ATTR.priority]?.N ?? 0);
  const writeId = newWriteId();
  try {
    await ctx.client.send(
      new UpdateItemCommand({
        TableName: ctx.tableName,
        Key: { [ATTR.id]: { S: id } },
        ConditionExpression: '#status = :seen AND #ro = :seen_ro AND (attribute_not_exists(#ttl) OR #ttl > :now_s)',
        UpdateExpression:
          'SET #write = :write, #status = :pending, #attempts = :zero, #run_at = :now, #updated = :now, #shard = :shard, #ro = :ro REMOVE #ttl, #expires, #finished, #result, #progress, #token',
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
        }),
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return true;
  } catch (err) {
    // A retry of this write (by the SDK) whose first send landed, answer lost, finds its own id.
    if (isConditionFailed(err)) return landedEarlier(err, writeId);
    throw err;
  }
}
