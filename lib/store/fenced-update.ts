/** The write every claim holder makes: an update conditional on still holding the claim. */
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { ATTR } from '../schema.ts';
import { isConditionFailed } from './context.ts';
import type { StoreContext } from './context.ts';

/** An update expression with its names and values. */
export interface UpdateSpec {
  readonly update: string;
  readonly names: Record<string, string>;
  readonly values: Record<string, AttributeValue>;
  /** A condition the write needs besides the fence (ANDed to it), e.g. that no job waits for this one. */
  readonly condition?: string;
}

/** A fresh id for one logical fenced write; pass the same id to every resend of that write. */
export function newWriteId(): string {
  return randomUUID();
}

/**
 * Applies `spec` to job `id` if `claim_token` still equals `token` and the job is processing.
 * Returns false if the claim was lost.
 *
 * Condition: `claim_token = :token AND status = processing`. This is the fencing check: when a
 * worker's lease runs out and another worker claims the job, the new claim writes a new token,
 * so the late worker's progress, heartbeat, completion or failure matches nothing and is
 * discarded instead of overwriting the newer attempt's outcome.
 *
 * @param writeId identifies this logical write across resends (see {@link newWriteId}); every
 *   fenced write stores it in `last_fenced_write`
 */
export async function fencedUpdate(ctx: StoreContext, id: string, token: string, spec: UpdateSpec, writeId: string = newWriteId()): Promise<boolean> {
  try {
    await ctx.client.send(new UpdateItemCommand({ ...fencedUpdateInput(ctx, id, token, spec, writeId), ReturnValuesOnConditionCheckFailure: 'ALL_OLD' }));
    return true;
  } catch (err) {
    if (!isConditionFailed(err)) throw err;
    // The SDK (or the caller, passing the same `writeId`) may resend a write whose first try reached
    // the table although the answer was lost: if the item carries this write id, this write is what
    // made the condition fail. (The `updated_at` instant alone is not enough: another writer in the
    // same millisecond, such as a newer claim or its outcome, would pass for this write.)
    return isOwnWrite(err.Item, writeId);
  }
}

/**
 * The fenced update of job `id` as an UpdateItem (or TransactWriteItems `Update`) input: `spec`,
 * plus `last_fenced_write = writeId`, conditional on `claim_token = token AND status = processing`.
 */
export function fencedUpdateInput(ctx: StoreContext, id: string, token: string, spec: UpdateSpec, writeId: string) {
  return {
    TableName: ctx.tableName,
    Key: { [ATTR.id]: { S: id } },
    ConditionExpression: `#fence_token = :fence_token AND #fence_status = :fence_processing${spec.condition ? ` AND (${spec.condition})` : ''}`,
    // Every fenced write also records an id of its own, which the SDK resends unchanged on a retry.
    UpdateExpression: spec.update.replace(/^SET /, 'SET #fence_write = :fence_write, '),
    ExpressionAttributeNames: { ...spec.names, '#fence_token': ATTR.claimToken, '#fence_status': ATTR.status, '#fence_write': ATTR.lastFencedWrite },
    ExpressionAttributeValues: { ...spec.values, ':fence_token': { S: token }, ':fence_processing': { S: 'processing' }, ':fence_write': { S: writeId } },
  };
}

/** True if the job item (as returned by a failed condition) carries `writeId`: that write landed earlier. */
export function isOwnWrite(item: Record<string, AttributeValue> | undefined, writeId: string): boolean {
  return item?.[ATTR.lastFencedWrite]?.S === writeId;
}
