/**
 * What the limit items share: their attribute names and TTL. A limit item lives in the jobs table
 * under an id `limit#...` (see `lib/model/limits.ts`), never has index keys (so it is never in the
 * jobs index), and carries a TTL so that the item of a key left idle is deleted.
 */
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { ATTR } from '../schema.ts';
import { isConditionFailed } from './context.ts';
import type { StoreContext } from './context.ts';
import { hadUnknownAttempt, watchAttempts } from './resend.ts';

/** Attribute names of limit items. */
export const LIMIT_ATTR = {
  /** Concurrency item: map of holder (claim token) to the epoch ms its lease ends. */
  holders: 'holders',
  /** Rate item: the theoretical arrival time (epoch ms) of the key's next start (GCRA). */
  tat: 'tat',
  /** Rate item: the claim token of the start that last moved `tat` (to recognise its own write). */
  owner: 'tat_owner',
  ttl: ATTR.ttl,
} as const;

/**
 * Keep an idle limit item two days past the last lease or start written to it: longer than any
 * lease (a job's timeout is at most a day), so TTL never deletes an item a live holder is in.
 */
const LIMIT_ITEM_RETENTION_S = 2 * 86_400;

/** The TTL (epoch seconds) to write beside a lease or start time `untilMs`. */
export function limitItemTtl(untilMs: number): AttributeValue {
  return { N: String(Math.ceil(untilMs / 1000) + LIMIT_ITEM_RETENTION_S) };
}

/** The holders map of a concurrency item as returned by DynamoDB: token to lease end (ms). */
export function holdersOf(item: Record<string, AttributeValue> | undefined): Map<string, number> | null {
  const m = item?.[LIMIT_ATTR.holders]?.M;
  if (!m) return null;
  return new Map(Object.entries(m).map(([token, v]) => [token, Number(v.N)]));
}

/**
 * A conditional update of limit item `itemId`: true if applied, false if its condition failed.
 * With `unknownIsApplied`, a refusal that came after an SDK attempt whose answer was lost (that
 * attempt may have applied the update, and the resend then failed on its effect) counts as applied:
 * false then means certainly not applied.
 */
export async function updateLimitItem(
  ctx: StoreContext,
  itemId: string,
  spec: { condition: string; update: string; names: Record<string, string>; values?: Record<string, AttributeValue>; unknownIsApplied?: boolean },
): Promise<boolean> {
  try {
    await ctx.client.send(
      watchAttempts(new UpdateItemCommand({
        TableName: ctx.tableName,
        Key: { [ATTR.id]: { S: itemId } },
        ConditionExpression: spec.condition,
        UpdateExpression: spec.update,
        ExpressionAttributeNames: spec.names,
        ...(spec.values ? { ExpressionAttributeValues: spec.values } : {}),
      })),
    );
    return true;
  } catch (err) {
    if (isConditionFailed(err)) return spec.unknownIsApplied === true && hadUnknownAttempt(err);
    throw err;
  }
}
