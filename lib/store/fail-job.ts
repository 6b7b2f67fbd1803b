/** Records a failed attempt: a retry after backoff, or the dead-letter state. */
import { iso, toItem } from '../model/codec.ts';
import { truncateUtf8 } from '../util/text.ts';
import { expiryFor } from '../model/state.ts';
import { ATTR, LANE, encodeReadyOrder, encodeScheduledOrder, statusShardKey } from '../schema.ts';
import type { StoreContext } from './context.ts';
import { fencedUpdate } from './fenced-update.ts';
import type { UpdateSpec } from './fenced-update.ts';
import { progressClause } from './report-progress.ts';
import type { OutcomeExtras } from './report-progress.ts';

/** Longest error message kept on the item, in UTF-8 bytes (within the item's reserve). */
export const MAX_ERROR_BYTES = 4_000;

/** Shortens an error message to what the item keeps, without splitting a character. */
export function errorText(message: string): string {
  return truncateUtf8(message, MAX_ERROR_BYTES);
}

/**
 * Puts a claimed job back to pending, due at `runAtMs` (fenced by the claim token). Its index
 * sort key moves to the scheduled range, so no worker sees it as due before then. Returns false
 * if this worker no longer holds the job. Pass the same `extras.writeId` to every resend of one
 * outcome (see {@link fencedUpdate}).
 */
export async function retryLater(
  ctx: StoreContext,
  claim: { id: string; token: string; priority: number },
  error: string,
  runAtMs: number,
  extras: OutcomeExtras = {},
): Promise<boolean> {
  const now = ctx.clock.now();
  const names: Record<string, string> = {
    '#status': ATTR.status,
    '#error': ATTR.error,
    '#run_at': ATTR.runAt,
    '#ro': ATTR.runOrder,
    '#updated': ATTR.updatedAt,
    '#lease': ATTR.leaseUntil,
    '#token': ATTR.claimToken,
  };
  const values = toItem({
    ':pending': 'pending',
    ':error': errorText(error),
    ':run_at': iso(runAtMs),
    ':ro': encodeScheduledOrder(claim.priority, runAtMs),
    ':now': iso(now),
  });
  const progressSet = progressClause(extras.progress, now, names, values);
  return fencedUpdate(ctx, claim.id, claim.token, {
    update: `SET #status = :pending, #error = :error, #run_at = :run_at, #ro = :ro, #updated = :now${progressSet} REMOVE #lease, #token`,
    names,
    values,
  }, extras.writeId);
}

/**
 * Marks a claimed job failed for good (the dead letter), fenced by the claim token. It moves to
 * the `failed` lane of the index, newest first, so `listJobs({ status: 'failed' })` finds it.
 */
export async function failForGood(
  ctx: StoreContext,
  claim: { id: string; token: string; queue: string; shard: number },
  error: string,
  extras: OutcomeExtras = {},
): Promise<boolean> {
  return fencedUpdate(ctx, claim.id, claim.token, failureUpdate(ctx, claim, error, extras), extras.writeId);
}

/**
 * The dead letter's update (before fencing): status failed, error, finish time, TTL, and the entry
 * moved to the `failed` lane of the job's shard.
 */
export function failureUpdate(ctx: StoreContext, claim: { queue: string; shard: number }, error: string, extras: OutcomeExtras = {}): UpdateSpec {
  const now = ctx.clock.now();
  const ttl = expiryFor('failed', now, ctx.retention, extras.idempotencyKey);
  const names: Record<string, string> = {
    '#status': ATTR.status,
    '#error': ATTR.error,
    '#finished': ATTR.finishedAt,
    '#updated': ATTR.updatedAt,
    '#ttl': ATTR.ttl,
    '#expires': ATTR.expiresAt,
    '#shard': ATTR.statusShard,
    '#ro': ATTR.runOrder,
    '#lease': ATTR.leaseUntil,
  };
  const values = toItem({
    ':failed': 'failed',
    ':error': errorText(error),
    ':now': iso(now),
    ':ttl': ttl,
    ':expires': iso(ttl * 1000),
    ':shard': statusShardKey(claim.queue, LANE.failed, claim.shard),
  });
  const progressSet = progressClause(extras.progress, now, names, values);
  return {
    update: `SET #status = :failed, #error = :error, #finished = :now, #updated = :now, #ttl = :ttl, #expires = :expires, #shard = :shard, #ro = :now${progressSet} REMOVE #lease`,
    names,
    values,
  };
}

/**
 * Gives a claimed job back unfinished (the worker is shutting down): pending again, due now,
 * and the attempt not counted. Fenced by the claim token.
 */
export async function releaseJob(ctx: StoreContext, claim: { id: string; token: string; priority: number }, writeId?: string): Promise<boolean> {
  const now = ctx.clock.now();
  return fencedUpdate(ctx, claim.id, claim.token, {
    update: 'SET #status = :pending, #run_at = :now, #ro = :ro, #updated = :now, #attempts = #attempts - :one REMOVE #lease, #token',
    names: {
      '#status': ATTR.status,
      '#run_at': ATTR.runAt,
      '#ro': ATTR.runOrder,
      '#updated': ATTR.updatedAt,
      '#attempts': ATTR.attempts,
      '#lease': ATTR.leaseUntil,
      '#token': ATTR.claimToken,
    },
    values: toItem({ ':pending': 'pending', ':now': iso(now), ':ro': encodeReadyOrder(claim.priority, now), ':one': 1 }),
  }, writeId);
}
