/** Records a job's success. */
import { iso, toItem } from '../model/codec.ts';
import type { JsonValue } from '../model/json-value.ts';
import { expiryFor } from '../model/state.ts';
import { ATTR } from '../schema.ts';
import type { StoreContext } from './context.ts';
import { fencedUpdate } from './fenced-update.ts';
import type { UpdateSpec } from './fenced-update.ts';
import { progressClause } from './report-progress.ts';
import type { OutcomeExtras } from './report-progress.ts';

/**
 * Marks a claimed job completed with its result (fenced by the claim token: see
 * {@link fencedUpdate}). Removes the index keys, so the job leaves the sparse index in the same
 * write, and sets its TTL. Returns false if this worker no longer holds the job. Pass the same
 * `extras.writeId` to every resend of one completion (see {@link fencedUpdate}).
 */
export async function completeJob(ctx: StoreContext, id: string, token: string, result: JsonValue | undefined, extras: OutcomeExtras = {}): Promise<boolean> {
  return fencedUpdate(ctx, id, token, completionUpdate(ctx, result, extras), extras.writeId);
}

/**
 * The completion's update (before fencing): status completed, finish time, TTL, result and final
 * progress set; the index keys, lease and (without a result) any old result removed.
 */
export function completionUpdate(ctx: StoreContext, result: JsonValue | undefined, extras: OutcomeExtras = {}): UpdateSpec {
  const now = ctx.clock.now();
  const ttl = expiryFor('completed', now, ctx.retention, extras.idempotencyKey);
  const sets = ['#status = :completed', '#finished = :now', '#updated = :now', '#ttl = :ttl', '#expires = :expires'];
  const names: Record<string, string> = {
    '#status': ATTR.status,
    '#finished': ATTR.finishedAt,
    '#updated': ATTR.updatedAt,
    '#ttl': ATTR.ttl,
    '#expires': ATTR.expiresAt,
    '#shard': ATTR.statusShard,
    '#ro': ATTR.runOrder,
    '#lease': ATTR.leaseUntil,
    '#result': ATTR.result,
  };
  const values = toItem({ ':completed': 'completed', ':now': iso(now), ':ttl': ttl, ':expires': iso(ttl * 1000) });
  if (result !== undefined) {
    sets.push('#result = :result');
    Object.assign(values, toItem({ ':result': result }));
  }
  const progressSet = progressClause(extras.progress, now, names, values);
  const removes = ['#shard', '#ro', '#lease'];
  if (result === undefined) removes.push('#result');
  return { update: `SET ${sets.join(', ')}${progressSet} REMOVE ${removes.join(', ')}`, names, values };
}
