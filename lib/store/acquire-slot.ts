/** Takes a slot of a concurrency limit: one conditional write to the limit's item. */
import { PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { ATTR } from '../schema.ts';
import { isConditionFailed } from './context.ts';
import type { StoreContext } from './context.ts';
import { holdersOf, LIMIT_ATTR, limitItemTtl } from './limit-items.ts';

/** How a slot request ended. */
export type SlotAttempt =
  | { readonly acquired: true }
  | {
      readonly acquired: false;
      /** Holders with a live lease when the write was refused. */
      readonly held: number;
      /** The earliest lease end among them (epoch ms): no slot frees by expiry before it. */
      readonly earliestEndMs: number;
    };

/** Expired holders removed by one write at most (keeps the expression small). */
const MAX_REAPED_PER_WRITE = 10;
/** Writes one request makes at most (create the item, reap expired holders, take the slot). */
const MAX_WRITES = 4;

/**
 * Takes one of `limit` slots of the concurrency item `itemId` for the holder `token` until
 * `leaseUntilMs`.
 *
 * Write: `SET holders.<token> = :lease` if `size(holders) < :limit`. Every worker counts the same
 * map, so at most `limit` holders are ever in it; the token is the job claim's fencing token, so
 * only that claim can later extend or remove the entry (see `release-slot.ts`).
 *
 * Refused, the failed condition returns the map at no read cost. Holders whose lease has ended
 * (their worker died: nobody will remove them) are removed by whoever finds them, in the same
 * write that takes the slot: `REMOVE holders.<dead>` on condition `holders.<dead> = :seen` for
 * each, and `size(holders) < :limit + <dead count>`; a dead holder's value can only have changed
 * if it was alive after all (a heartbeat), and then the condition fails and nothing is removed.
 * A first request for a key finds no item: it creates it empty (`attribute_not_exists`) and retries.
 * A resend whose first send had landed finds its own token and counts as acquired.
 */
export async function acquireSlot(ctx: StoreContext, itemId: string, limit: number, token: string, leaseUntilMs: number): Promise<SlotAttempt> {
  let reap = new Map<string, number>();
  for (let write = 0; ; write++) {
    try {
      await ctx.client.send(new UpdateItemCommand(acquireInput(ctx.tableName, itemId, limit, token, leaseUntilMs, reap)));
      return { acquired: true };
    } catch (err) {
      if (!isConditionFailed(err)) throw err;
      const holders = holdersOf(err.Item);
      if (holders?.has(token)) return { acquired: true };
      const now = ctx.clock.now();
      if (!holders) await createSlotItem(ctx, itemId, leaseUntilMs);
      const live = holders ? [...holders].filter(([, end]) => end > now) : [];
      const dead = holders ? [...holders].filter(([, end]) => end <= now).slice(0, MAX_REAPED_PER_WRITE) : [];
      if (write + 1 >= MAX_WRITES || (holders && live.length >= limit)) {
        return { acquired: false, held: live.length, earliestEndMs: Math.min(...live.map(([, end]) => end), now) };
      }
      reap = new Map(dead);
    }
  }
}

/** The conditional update of {@link acquireSlot}, removing the `reap` holders as seen. */
function acquireInput(tableName: string, itemId: string, limit: number, token: string, leaseUntilMs: number, reap: Map<string, number>) {
  const names: Record<string, string> = { '#h': LIMIT_ATTR.holders, '#me': token, '#ttl': LIMIT_ATTR.ttl };
  const values: Record<string, AttributeValue> = { ':n': { N: String(limit + reap.size) }, ':lease': { N: String(leaseUntilMs) }, ':ttl': limitItemTtl(leaseUntilMs) };
  const conditions = ['size(#h) < :n'];
  const removes: string[] = [];
  [...reap].forEach(([dead, end], i) => {
    names[`#d${i}`] = dead;
    values[`:d${i}`] = { N: String(end) };
    conditions.push(`#h.#d${i} = :d${i}`);
    removes.push(`#h.#d${i}`);
  });
  return {
    TableName: tableName,
    Key: { [ATTR.id]: { S: itemId } },
    ConditionExpression: conditions.join(' AND '),
    UpdateExpression: `SET #h.#me = :lease, #ttl = :ttl${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`,
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
  };
}

/** Creates a key's concurrency item with no holders, unless it exists (two workers may race here). */
async function createSlotItem(ctx: StoreContext, itemId: string, untilMs: number): Promise<void> {
  try {
    await ctx.client.send(
      new PutItemCommand({
        TableName: ctx.tableName,
        Item: { [ATTR.id]: { S: itemId }, [LIMIT_ATTR.holders]: { M: {} }, [LIMIT_ATTR.ttl]: limitItemTtl(untilMs) },
        ConditionExpression: 'attribute_not_exists(#id)',
        ExpressionAttributeNames: { '#id': ATTR.id },
      }),
    );
  } catch (err) {
    if (!isConditionFailed(err)) throw err;
  }
}
