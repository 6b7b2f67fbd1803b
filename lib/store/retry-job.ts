/** Redrives a failed or cancelled job. */
import { GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { isExpired, iso, toItem } from '../model/codec.ts';
import { ATTR, LANE, encodeReadyOrder, statusShardKey } from '../schema.ts';
import { shardOf } from './cancel-job.ts';
import { isConditionFailed } from './context.ts';
import type { StoreContext } from './context.ts';

/**
 * Puts a failed or cancelled job back to pending, due now, with its attempts reset to 0;
 * returns true only then. The last error is kept for reference; result, progress and TTL are
 * cleared.
 *
 * Reads the item, then writes with the condition `status = :seen AND run_order = :seenOrder AND
 * (no ttl OR ttl > now)`: two concurrent redrives cannot both succeed (the first changes the
 * status), and an expired record, which reads as gone, is not revived.
 */
export async function retryJob(ctx: StoreContext, id: string): Promise<boolean> {
  const got = await ctx.client.send(new GetItemCommand({ TableName: ctx.tableName, Key: { [ATTR.id]: { S: id } }, ConsistentRead: true }));
  const item = got.Item;
  const now = ctx.clock.now();
  const status = item?.[ATTR.status]?.S;
  if (!item || (status !== 'failed' && status !== 'cancelled') || isExpired(item, now)) return false;
  const priority = Number(item[ATTR.priority]?.N ?? 0);
  try {
    await ctx.client.send(
      new UpdateItemCommand({
        TableName: ctx.tableName,
        Key: { [ATTR.id]: { S: id } },
        ConditionExpression: '#status = :seen AND #ro = :seen_ro AND (attribute_not_exists(#ttl) OR #ttl > :now_s)',
        UpdateExpression:
          'SET #status = :pending, #attempts = :zero, #run_at = :now, #updated = :now, #shard = :shard, #ro = :ro REMOVE #ttl, #expires, #finished, #result, #progress, #token',
        ExpressionAttributeNames: {
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
          ':seen': status,
          ':seen_ro': item[ATTR.runOrder]?.S ?? '',
          ':now_s': Math.floor(now / 1000),
          ':pending': 'pending',
          ':zero': 0,
          ':now': iso(now),
          ':shard': statusShardKey(item[ATTR.queue]!.S!, LANE.due, shardOf(item[ATTR.statusShard]?.S)),
          ':ro': encodeReadyOrder(priority, now),
        }),
      }),
    );
    return true;
  } catch (err) {
    if (isConditionFailed(err)) return false;
    throw err;
  }
}
