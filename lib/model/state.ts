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
 * ```
 */
import type { BackoffOptions, JobStatus, RetentionOptions } from '../types.ts';
import { backoffDelay } from './backoff.ts';

/** Which status may follow which. */
export const TRANSITIONS: Readonly<Record<JobStatus, readonly JobStatus[]>> = {
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

/** TTL (epoch seconds) of a job that just finished with `status`. */
export function expiryFor(status: 'completed' | 'failed' | 'cancelled', nowMs: number, retention: Required<RetentionOptions>): number {
  const keep = status === 'completed' ? retention.completedMs : status === 'failed' ? retention.failedMs : retention.cancelledMs;
  return Math.ceil((nowMs + keep) / 1000);
}
