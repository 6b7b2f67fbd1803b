/** Writes one new job. */
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { ATTR } from '../schema.ts';
import { isConditionFailed } from './context.ts';
import type { StoreContext } from './context.ts';

/** Outcome of {@link putJob}. */
export interface PutJobResult {
  readonly id: string;
  /** False when a job with this id (same idempotency key) already existed. */
  readonly created: boolean;
}

/**
 * Puts a new job item.
 *
 * Condition: `attribute_not_exists(id) OR ttl <= :now`. It closes two races: two callers
 * enqueueing the same idempotency key (same id) at once, where exactly one creates the job and
 * both get its id; and an SDK retry of a put that reached the table although the caller saw an
 * error, which must not reset a job a worker may already have claimed. An expired record (TTL
 * passed but not yet deleted) counts as absent, so a key can be reused after its job's retention.
 */
export async function putJob(ctx: StoreContext, item: Record<string, AttributeValue>): Promise<PutJobResult> {
  const id = item[ATTR.id]!.S!;
  try {
    await ctx.client.send(
      new PutItemCommand({
        TableName: ctx.tableName,
        Item: item,
        ConditionExpression: 'attribute_not_exists(#id) OR #ttl <= :now',
        ExpressionAttributeNames: { '#id': ATTR.id, '#ttl': ATTR.ttl },
        ExpressionAttributeValues: { ':now': { N: String(Math.floor(ctx.clock.now() / 1000)) } },
      }),
    );
    return { id, created: true };
  } catch (err) {
    if (isConditionFailed(err)) return { id, created: false };
    throw err;
  }
}
