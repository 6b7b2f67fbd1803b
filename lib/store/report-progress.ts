/** Progress and heartbeat writes by the claim holder. */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { iso, toItem } from '../model/codec.ts';
import { leaseUntilMs } from '../model/state.ts';
import { ATTR } from '../schema.ts';
import type { StoreContext } from './context.ts';
import { fencedUpdate } from './fenced-update.ts';

/** Progress as a handler reports it. */
export interface ProgressInput {
  readonly current: number;
  readonly total?: number;
  readonly message?: string;
}

/** What an outcome write may carry besides the outcome itself. */
export interface OutcomeExtras {
  /** The handler's last progress, written with the outcome (the 1 s throttle may have held it back). */
  readonly progress?: ProgressInput | undefined;
  /** Identifies one logical outcome write across resends (see `fencedUpdate`). @default a fresh id */
  readonly writeId?: string;
  /** The job's idempotency key: a recurring firing's record is kept at least 24 h (see `expiryFor`). */
  readonly idempotencyKey?: string | null;
}

/** The stored progress map. */
export function progressValue(p: ProgressInput, nowMs: number): Record<string, unknown> {
  return {
    current: p.current,
    ...(p.total !== undefined ? { total: p.total } : {}),
    ...(p.message !== undefined ? { message: p.message } : {}),
    updated_at: iso(nowMs),
  };
}

/**
 * Adds the final progress to an outcome update (so the last report is never lost to the 1 s
 * throttle): registers `#progress`/`:progress` and returns the `, #progress = :progress` SET
 * fragment, or '' when there is nothing to add.
 */
export function progressClause(
  progress: ProgressInput | undefined,
  nowMs: number,
  names: Record<string, string>,
  values: Record<string, AttributeValue>,
): string {
  if (!progress) return '';
  names['#progress'] = ATTR.progress;
  Object.assign(values, toItem({ ':progress': progressValue(progress, nowMs) }));
  return ', #progress = :progress';
}

/**
 * Writes a job's progress (fenced by the claim token). `progress` is not projected into the
 * index, so this costs one table write and no index write.
 */
export async function reportProgress(ctx: StoreContext, id: string, token: string, progress: ProgressInput): Promise<boolean> {
  const now = ctx.clock.now();
  return fencedUpdate(ctx, id, token, {
    update: 'SET #progress = :progress, #updated = :now',
    names: { '#progress': ATTR.progress, '#updated': ATTR.updatedAt },
    values: toItem({ ':progress': progressValue(progress, now), ':now': iso(now) }),
  });
}

/**
 * Extends the lease to `timeoutMs + grace` from now (fenced by the claim token). See
 * {@link writeLease}.
 */
export async function extendLease(ctx: StoreContext, id: string, token: string, timeoutMs: number, graceMs: number): Promise<boolean> {
  return writeLease(ctx, id, token, leaseUntilMs(ctx.clock.now(), timeoutMs, graceMs));
}

/**
 * Sets the lease to end at `leaseUntil` (epoch ms; fenced by the claim token). The caller computes
 * it before sending, so it knows the lease exactly however long the round trip takes. The lease
 * is projected into the index so other workers see it: one table and one index write.
 */
export async function writeLease(ctx: StoreContext, id: string, token: string, leaseUntil: number): Promise<boolean> {
  const now = ctx.clock.now();
  return fencedUpdate(ctx, id, token, {
    update: 'SET #lease = :lease, #updated = :now',
    names: { '#lease': ATTR.leaseUntil, '#updated': ATTR.updatedAt },
    values: toItem({ ':lease': iso(leaseUntil), ':now': iso(now) }),
  });
}
