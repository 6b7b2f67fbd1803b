/**
 * Local emulation of DynamoDB TTL: DynamoDB Local never deletes expired items, so the local
 * scheduler sweeps them: a Scan for items whose `ttl` has passed, then a conditional delete of
 * each. In AWS this does not run; the table's TTL does the same for free, within a few days.
 */
import { DeleteItemCommand, paginateScan } from '@aws-sdk/client-dynamodb';
import { ATTR } from '../schema.ts';
import { isConditionFailed } from '../store/context.ts';
import type { StoreContext } from '../store/context.ts';

/**
 * Deletes every item whose TTL (epoch seconds) is at or before `nowMs`. Returns how many.
 *
 * Condition on each delete: `ttl <= :now`. It closes the race with a job that was redriven
 * (its TTL removed) between the scan and the delete: such a job is kept.
 */
export async function sweepExpiredJobs(ctx: Pick<StoreContext, 'client' | 'tableName'>, nowMs: number): Promise<number> {
  const now = { N: String(Math.floor(nowMs / 1000)) };
  let deleted = 0;
  const pages = paginateScan(
    { client: ctx.client, pageSize: 500 },
    {
      TableName: ctx.tableName,
      ProjectionExpression: '#id',
      FilterExpression: '#ttl <= :now',
      ExpressionAttributeNames: { '#id': ATTR.id, '#ttl': ATTR.ttl },
      ExpressionAttributeValues: { ':now': now },
    },
  );
  for await (const page of pages) {
    for (const item of page.Items ?? []) {
      try {
        await ctx.client.send(
          new DeleteItemCommand({
            TableName: ctx.tableName,
            Key: { [ATTR.id]: item[ATTR.id]! },
            ConditionExpression: '#ttl <= :now',
            ExpressionAttributeNames: { '#ttl': ATTR.ttl },
            ExpressionAttributeValues: { ':now': now },
          }),
        );
        deleted++;
      } catch (err) {
        if (!isConditionFailed(err)) throw err;
      }
    }
  }
  return deleted;
}
