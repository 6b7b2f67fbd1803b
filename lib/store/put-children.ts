/** Writes the children of a parent (fan-in), and marks the parent's fan-out complete. */
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { ATTR } from '../schema.ts';
import { mapLimit } from '../util/map-limit.ts';
import type { StoreContext } from './context.ts';
import { settlePut } from './put-job.ts';
import type { PutJobsOutcome } from './put-jobs.ts';

/** Puts in flight at once. */
const PUT_CONCURRENCY = 16;

/**
 * Puts each child with its own conditional PutItem (`attribute_not_exists(id)`), 16 at a time,
 * resent while its outcome is unknown (`settlePut`). Not BatchWriteItem: child ids are derived
 * from the parent's, so a retried enqueue writes the same ids, and an unconditional put would
 * reset a child a worker may already have run. Cost: 1 write unit per KB of each child, plus its
 * index entry, as a batch would.
 */
export async function putChildren(ctx: StoreContext, items: readonly Record<string, AttributeValue>[]): Promise<PutJobsOutcome> {
  const out: PutJobsOutcome = { written: [], notWritten: [], unknown: [] };
  const settled = await mapLimit(items, PUT_CONCURRENCY, (item) => settlePut(ctx, item, { reuseExpired: false }));
  for (const s of settled) {
    if (s.state === 'created' || s.state === 'existed') out.written.push(s.id);
    else (s.state === 'unknown' ? out.unknown : out.notWritten).push(s.id);
    if (s.error !== undefined) out.error ??= s.error;
  }
  return out;
}

/**
 * Sets `children_written = true` on a parent once all its children are in the table. Condition:
 * `attribute_exists(id)`, so a parent deleted meanwhile (cancelled, then expired) is not
 * re-created as a stub. 1 write unit; the index entry does not change.
 */
export async function markChildrenWritten(ctx: StoreContext, parentId: string): Promise<void> {
  try {
    await ctx.client.send(
      new UpdateItemCommand({
        TableName: ctx.tableName,
        Key: { [ATTR.id]: { S: parentId } },
        UpdateExpression: 'SET #cw = :true',
        ConditionExpression: 'attribute_exists(#id)',
        ExpressionAttributeNames: { '#cw': ATTR.childrenWritten, '#id': ATTR.id },
        ExpressionAttributeValues: { ':true': { BOOL: true } },
      }),
    );
  } catch (err) {
    if (!(err instanceof Error && err.name === 'ConditionalCheckFailedException')) throw err;
  }
}
