/**
 * Retry backoff: exponential with "equal jitter". The n-th retry (n >= 1) waits a random time
 * in [cap/2, cap] where cap = min(maxMs, baseMs * 2^(n-1)): jitter spreads retries of jobs that
 * failed together, and the lower half-bound keeps a minimum wait. Pure.
 */
import type { BackoffOptions } from '../types.ts';

/** Defaults applied when a job gives no backoff. */
export const DEFAULT_BACKOFF: Required<BackoffOptions> = { baseMs: 1_000, maxMs: 300_000 };

/** The [min, max] delay of the n-th retry (n = attempts made so far, >= 1). */
export function backoffBounds(attempt: number, backoff: Required<BackoffOptions>): { minMs: number; maxMs: number } {
  const exponent = Math.min(Math.max(attempt, 1) - 1, 52);
  const cap = Math.min(backoff.maxMs, backoff.baseMs * 2 ** exponent);
  return { minMs: Math.floor(cap / 2), maxMs: cap };
}

/**
 * Delay before the next attempt, given the attempts made so far.
 * @param random a source in [0, 1), injectable for tests
 */
export function backoffDelay(attempt: number, backoff: Required<BackoffOptions>, random: () => number = Math.random): number {
  const { minMs, maxMs } = backoffBounds(attempt, backoff);
  return minMs + Math.floor(random() * (maxMs - minMs + 1));
}
