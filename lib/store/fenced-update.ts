/** The write every claim holder makes: an update conditional on still holding the claim. */
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { ATTR } from '../schema.ts';
import { isConditionFailed } from './context.ts';
import type { StoreContext } from './context.ts';

/** An update expression with its names and values. */
export interface UpdateSpec {
  readonly update: string;
  readonly names: Record<string, string>;
  readonly values: Record<string, AttributeValue>;
}

/**
 * Applies `spec` to job `id` if `claim_token` still equals `token` and the job is processing.
 * Returns false if the claim was lost.
 *
 * Condition: `claim_token = :token AND status = processing`. This is the fencing check: when a
 * worker's lease runs out and another worker claims the job, the new claim writes a new token,
 * so the late worker's progress, heartbeat, completion or failure matches nothing and is
 * discarded instead of overwriting the newer attempt's outcome.
 */
export async function fencedUpdate(ctx: StoreContext, id: string, token: string, spec: UpdateSpec): Promise<boolean> {
  try {
    await ctx.client.send(
      new UpdateItemCommand({
        TableName: ctx.tableName,
        Key: { [ATTR.id]: { S: id } },
        ConditionExpression: '#fence_token = :fence_token AND #fence_status = :fence_processing',
        UpdateExpression: spec.update,
        ExpressionAttributeNames: { ...spec.names, '#fence_token': ATTR.claimToken, '#fence_status': ATTR.status },
        ExpressionAttributeValues: { ...spec.values, ':fence_token': { S: token }, ':fence_processing': { S: 'processing' } },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return true;
  } catch (err) {
    if (!isConditionFailed(err)) throw err;
    // The SDK may resend a write whose first try reached the table although the answer was lost.
    // Every fenced write sets `updated_at = :now`: if the item already carries exactly that
    // instant and no newer claim's token, this write is what made the condition fail.
    const now = spec.values[':now']?.S;
    const item = err.Item;
    const mine = !!now && item?.[ATTR.updatedAt]?.S === now && (item?.[ATTR.claimToken] === undefined || item[ATTR.claimToken]?.S === token);
    return mine;
  }
}
