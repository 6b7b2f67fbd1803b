/** Gives a concurrency slot back, or keeps it in step with the job's lease. */
import type { StoreContext } from './context.ts';
import { LIMIT_ATTR, limitItemTtl, updateLimitItem } from './limit-items.ts';

/**
 * Removes holder `token` from the concurrency item `itemId`: `REMOVE holders.<token>` if it is
 * there. A worker can only name its own token (its claim's fencing token), so a stale worker can
 * never free another's slot; if its entry was already removed as expired, nothing happens.
 * Returns false if the entry was not there.
 */
export async function releaseSlot(ctx: StoreContext, itemId: string, token: string): Promise<boolean> {
  return updateLimitItem(ctx, itemId, { condition: 'attribute_exists(#h.#me)', update: 'REMOVE #h.#me', names: { '#h': LIMIT_ATTR.holders, '#me': token } });
}

/**
 * Moves holder `token`'s lease end to `leaseUntilMs` (a heartbeat), if the entry is still there:
 * `SET holders.<token> = :lease` on `attribute_exists(holders.<token>)`. An entry removed as
 * expired is never put back (the slot may be someone else's by now): returns false, and the job
 * must stop as if its lease were lost.
 */
export async function extendSlot(ctx: StoreContext, itemId: string, token: string, leaseUntilMs: number): Promise<boolean> {
  return updateLimitItem(ctx, itemId, {
    condition: 'attribute_exists(#h.#me)',
    update: 'SET #h.#me = :lease, #ttl = :ttl',
    names: { '#h': LIMIT_ATTR.holders, '#me': token, '#ttl': LIMIT_ATTR.ttl },
    values: { ':lease': { N: String(leaseUntilMs) }, ':ttl': limitItemTtl(leaseUntilMs) },
  });
}
