/** Takes a start of a rate limit (GCRA), or gives back one not used: conditional writes to the limit's item. */
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { rateStep } from '../model/limits.ts';
import type { RateLimit } from '../model/limits.ts';
import { ATTR } from '../schema.ts';
import { isConditionFailed } from './context.ts';
import type { StoreContext } from './context.ts';
import { LIMIT_ATTR, limitItemTtl, updateLimitItem } from './limit-items.ts';

/** How a rate request ended; `tat` is the key's state as last seen (for the next request). */
export type RateTake =
  | { readonly granted: true; readonly startsAtMs: readonly number[]; readonly tat: number }
  | { readonly granted: false; readonly retryAtMs: number; readonly tat: number | null };

/** Writes one request makes at most before it gives up for now (others keep taking the key). */
const MAX_WRITES = 4;

/**
 * Takes up to `count` next starts of rate item `itemId` in one write, as `token` (see `rateStep`,
 * GCRA without burst). `seenTat` is the key's theoretical arrival time as this worker last saw it
 * (null: never seen), so no read is needed: the write `SET tat = :new, tat_owner = :token` is
 * conditional on `tat = :seen` (or `attribute_not_exists(tat)`), and a refused write returns the
 * current value, from which the step is computed again. So two workers can never take the same
 * start. A resend whose first send had landed finds its own token with its own `tat`, and counts
 * as granted. Several starts per write: a worker with many jobs of one key waiting writes its
 * item once for all of them.
 */
export async function takeRateToken(ctx: StoreContext, itemId: string, rate: RateLimit, seenTat: number | null, token: string, count = 1, leadMs?: number): Promise<RateTake> {
  let seen = seenTat;
  for (let write = 0; write < MAX_WRITES; write++) {
    const step = rateStep(rate, seen, ctx.clock.now(), count, leadMs);
    if (step.kind === 'denied') return { granted: false, retryAtMs: step.retryAtMs, tat: seen };
    const owned = { set: '#owner = :owner, #ttl = :ttl', names: { '#owner': LIMIT_ATTR.owner, '#ttl': LIMIT_ATTR.ttl }, values: { ':owner': { S: token }, ':ttl': limitItemTtl(step.newTat) } };
    const refused = await setTat(ctx, itemId, seen, step.newTat, owned);
    // Applied, or refused by its own landed first send (a resend after a lost answer).
    if (!refused || (refused[LIMIT_ATTR.owner]?.S === token && tatOf(refused) === step.newTat)) return { granted: true, startsAtMs: step.startsAtMs, tat: step.newTat };
    seen = tatOf(refused);
  }
  return { granted: false, retryAtMs: ctx.clock.now(), tat: seen };
}

/** The `tat` of a rate item as DynamoDB returned it (null: none). */
function tatOf(item: Record<string, AttributeValue>): number | null {
  const n = item[LIMIT_ATTR.tat]?.N;
  return n === undefined ? null : Number(n);
}

/**
 * The compare-and-set every write of `tat` makes: `SET tat = :new` (and `extra`) on `tat = :seen`
 * (`attribute_not_exists(tat)` when `seen` is null). Null if applied; else the item as it is now
 * (returned by the refused condition), from which the caller computes its next try.
 */
async function setTat(
  ctx: StoreContext,
  itemId: string,
  seen: number | null,
  newTat: number,
  extra?: { set: string; names: Record<string, string>; values: Record<string, AttributeValue> },
): Promise<Record<string, AttributeValue> | null> {
  const values: Record<string, AttributeValue> = { ':new': { N: String(newTat) }, ...extra?.values };
  if (seen !== null) values[':seen'] = { N: String(seen) };
  try {
    await ctx.client.send(
      new UpdateItemCommand({
        TableName: ctx.tableName,
        Key: { [ATTR.id]: { S: itemId } },
        ConditionExpression: seen === null ? 'attribute_not_exists(#tat)' : '#tat = :seen',
        UpdateExpression: `SET #tat = :new${extra ? `, ${extra.set}` : ''}`,
        ExpressionAttributeNames: { '#tat': LIMIT_ATTR.tat, ...extra?.names },
        ExpressionAttributeValues: values,
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return null;
  } catch (err) {
    if (!isConditionFailed(err)) throw err;
    return err.Item ?? {};
  }
}

/**
 * Gives back the last start of a grant to `token` that will not be used (its claim was lost or
 * another limit refused the job): `SET tat = :startAt` if `tat = :granted AND tat_owner = :token`,
 * i.e. only if nobody has taken a later start since; otherwise the start is simply not used (the
 * key runs a little under its rate, never over it). Returns true if it was given back, or may have
 * been: a resend refused after an attempt whose answer was lost (the first send may have landed,
 * and the start been granted again since) counts as given back, so the caller never also keeps the
 * start as a spare. False only if certainly not given back.
 */
export async function giveBackRateToken(ctx: StoreContext, itemId: string, token: string, grantedTat: number, startAtMs: number): Promise<boolean> {
  return updateLimitItem(ctx, itemId, {
    condition: '#tat = :granted AND #owner = :owner',
    update: 'SET #tat = :back',
    names: { '#tat': LIMIT_ATTR.tat, '#owner': LIMIT_ATTR.owner },
    values: { ':granted': { N: String(grantedTat) }, ':owner': { S: token }, ':back': { N: String(startAtMs) } },
    unknownIsApplied: true,
  });
}

/** What {@link pushRateBack} did: the hole left (where, and the key's new `tat`), or why not. */
export type RatePush =
  | { readonly pushed: true; readonly holeAtMs: number; readonly tat: number }
  | { readonly pushed: false; readonly tat: number | null };

/**
 * Leaves `deltaMs` of rate item `itemId`'s starts unused (a hole), from its next start or
 * `fromMs`, whichever is later: a job that comes to its slot late (a slow claim, a busy worker)
 * so leaves a hole after its own start (see `rateRetakeAfterMs`), so that no interval of observed
 * starts holds more than the limit. With `beforeMs`, only if the hole would begin before it (else
 * nothing is written: the job must take a new start instead). `SET tat = :new` on `tat = :seen`,
 * retried on the value a refused write returns.
 */
export async function pushRateBack(ctx: StoreContext, itemId: string, seenTat: number | null, deltaMs: number, fromMs: number, beforeMs = Infinity): Promise<RatePush> {
  let seen = seenTat;
  for (let write = 0; write < MAX_WRITES && seen !== null; write++) {
    const holeAtMs = Math.max(seen, fromMs);
    if (holeAtMs >= beforeMs) return { pushed: false, tat: seen };
    const next = Math.ceil(holeAtMs + deltaMs);
    const refused = await setTat(ctx, itemId, seen, next);
    if (!refused) return { pushed: true, holeAtMs, tat: next };
    seen = tatOf(refused);
  }
  return { pushed: false, tat: seen };
}
