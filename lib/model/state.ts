/**
 * The job state machine, as pure functions. The store's condition expressions enforce the same
 * rules on the server; these decide what to write.
 *
 * ```
 *            enqueue                      claim (due, no live lease)
 *   (none) ----------> pending -----------------------------------> processing
 *                       ^  |                                      /  |   |   \
 *     retryJob          |  | cancelJob                    retry  /   |   |    \ lease expires:
 *   (attempts reset)    |  v                      (attempts left)    |   |     claimable again
 *                       | cancelled                                  |   |
 *                       |                                   complete |   | fail (no attempts left,
 *                       |  pending <---------------------------------+   v  permanent error)
 *                       +------------------------------------------- failed
 *                                                                  completed
 *
 *   (none) --enqueue with dependsOn / enqueueParent--> waiting --last dependency finished--> pending
 *                                                         | cancelJob
 *                                                         v
 *                                                     cancelled
 * ```
 */
import type { BackoffOptions, JobStatus, RetentionOptions } from '../types.ts';
import { backoffDelay } from './backoff.ts';

/** Which status may follow which. */
export const TRANSITIONS: Readonly<Record<JobStatus, readonly JobStatus[]>> = {
  // waiting -> pending: its last dependency finished (or one failed, under onDependencyFailure 'fail').
  waiting: ['pending', 'cancelled'],
  pending: ['processing', 'cancelled'],
  // processing -> processing is a re-claim after the lease ran out.
  processing: ['completed', 'pending', 'failed', 'processing'],
  completed: [],
  failed: ['pending'],
  cancelled: ['pending'],
};

/** True if `to` may follow `from`. */
export function canTransition(from: JobStatus, to: JobStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** True for statuses a job never leaves on its own. */
export function isTerminal(status: JobStatus): boolean {
  return status === 'completed' || status === 'failed' || status === 'cancelled';
}

/** The most grace a lease adds to a job's timeout. */
export const MAX_LEASE_GRACE_MS = 2_000;

/** When a claim made at `nowMs` runs out. */
export function leaseUntilMs(nowMs: number, timeoutMs: number, graceMs: number): number {
  return nowMs + timeoutMs + Math.min(Math.max(graceMs, 0), MAX_LEASE_GRACE_MS);
}

/** What an index entry tells a worker about a candidate. */
export interface CandidateState {
  readonly status: JobStatus;
  readonly runAtMs: number;
  readonly leaseUntilMs: number | null;
}

/** True if a worker may try to claim the job now: due, and not held by a live lease. */
export function isClaimable(c: CandidateState, nowMs: number): boolean {
  if (c.status !== 'pending' && c.status !== 'processing') return false;
  if (c.runAtMs > nowMs) return false;
  if (c.status === 'processing') return c.leaseUntilMs !== null && c.leaseUntilMs <= nowMs;
  return c.leaseUntilMs === null || c.leaseUntilMs <= nowMs;
}

/** What to do after an attempt failed. */
export type FailureDecision = { readonly kind: 'retry'; readonly runAtMs: number; readonly delayMs: number } | { readonly kind: 'fail' };

/**
 * Retry with backoff while attempts remain, else fail for good. `permanent` errors (no handler,
 * PermanentJobError, an unstorable result) fail at once.
 */
export function decideAfterFailure(
  job: { readonly attempts: number; readonly maxAttempts: number; readonly backoff: Required<BackoffOptions> },
  nowMs: number,
  permanent: boolean,
  random: () => number = Math.random,
): FailureDecision {
  if (permanent || job.attempts >= job.maxAttempts) return { kind: 'fail' };
  const delayMs = backoffDelay(job.attempts, job.backoff, random);
  return { kind: 'retry', runAtMs: nowMs + delayMs, delayMs };
}

/** Idempotency keys of the jobs recurring schedules enqueue start with this (one key per firing). */
export const FIRING_KEY_PREFIX = 'schedule:';

/**
 * EventBridge Scheduler redelivers a firing for up to 24 hours. The record of a firing's job is
 * kept at least this long after it finished, so that a late redelivery finds its key instead of
 * enqueueing the job again, whatever the retention of finished jobs.
 */
export const FIRING_KEY_MIN_RETENTION_MS = 24 * 3_600_000;

/**
 * TTL (epoch seconds) of a job that just finished with `status`.
 * @param idempotencyKey the job's key: a recurring firing's record is kept at least
 *   {@link FIRING_KEY_MIN_RETENTION_MS}
 */
export function expiryFor(status: 'completed' | 'failed' | 'cancelled', nowMs: number, retention: Required<RetentionOptions>, idempotencyKey?: string | null): number {
  let keep = status === 'completed' ? retention.completedMs : status === 'failed' ? retention.failedMs : retention.cancelledMs;
  if (idempotencyKey?.startsWith(FIRING_KEY_PREFIX)) keep = Math.max(keep, FIRING_KEY_MIN_RETENTION_MS);
  return Math.ceil((nowMs + keep) / 1000);
}
