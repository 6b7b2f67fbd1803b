import { describe, expect, it } from 'vitest';
import { canTransition, decideAfterFailure, expiryFor, isClaimable, isTerminal, leaseUntilMs, TRANSITIONS } from '../../lib/model/state.ts';
import { DEFAULT_RETENTION } from '../../lib/model/validate.ts';
import { JOB_STATUSES } from '../../lib/types.ts';

describe('TRANSITIONS / canTransition', () => {
  it('allows exactly the documented edges', () => {
    expect(canTransition('pending', 'processing')).toBe(true);
    expect(canTransition('pending', 'cancelled')).toBe(true);
    expect(canTransition('processing', 'completed')).toBe(true);
    expect(canTransition('processing', 'pending')).toBe(true);
    expect(canTransition('processing', 'failed')).toBe(true);
    expect(canTransition('failed', 'pending')).toBe(true);
    expect(canTransition('cancelled', 'pending')).toBe(true);
    expect(canTransition('processing', 'cancelled')).toBe(false);
    expect(canTransition('pending', 'completed')).toBe(false);
    expect(canTransition('completed', 'pending')).toBe(false);
    expect(canTransition('waiting', 'pending')).toBe(true);
    expect(canTransition('waiting', 'cancelled')).toBe(true);
    expect(canTransition('waiting', 'processing')).toBe(false);
    expect(canTransition('pending', 'waiting')).toBe(false);
  });

  it('has no way out of completed, and covers every status', () => {
    expect(TRANSITIONS.completed).toEqual([]);
    expect(Object.keys(TRANSITIONS).sort()).toEqual([...JOB_STATUSES].sort());
    expect(JOB_STATUSES.filter(isTerminal)).toEqual(['completed', 'failed', 'cancelled']);
  });
});

describe('leaseUntilMs', () => {
  it('is timeout plus grace, with grace capped at 2 s', () => {
    expect(leaseUntilMs(1_000, 500, 100)).toBe(1_600);
    expect(leaseUntilMs(1_000, 500, 60_000)).toBe(3_500);
    expect(leaseUntilMs(1_000, 500, -5)).toBe(1_500);
  });
});

describe('isClaimable', () => {
  const now = 10_000;
  it('takes due pending jobs without a lease', () => {
    expect(isClaimable({ status: 'pending', runAtMs: now, leaseUntilMs: null }, now)).toBe(true);
  });
  it('never takes a job before its due time', () => {
    expect(isClaimable({ status: 'pending', runAtMs: now + 1, leaseUntilMs: null }, now)).toBe(false);
  });
  it('takes a processing job only once its lease has run out', () => {
    expect(isClaimable({ status: 'processing', runAtMs: 0, leaseUntilMs: now + 1 }, now)).toBe(false);
    expect(isClaimable({ status: 'processing', runAtMs: 0, leaseUntilMs: now }, now)).toBe(true);
    expect(isClaimable({ status: 'processing', runAtMs: 0, leaseUntilMs: null }, now)).toBe(false);
  });
  it('never takes finished jobs', () => {
    for (const status of ['completed', 'failed', 'cancelled'] as const) {
      expect(isClaimable({ status, runAtMs: 0, leaseUntilMs: null }, now)).toBe(false);
    }
  });
});

describe('decideAfterFailure', () => {
  const backoff = { baseMs: 1_000, maxMs: 8_000 };
  it('retries with backoff while attempts remain', () => {
    const d = decideAfterFailure({ attempts: 2, maxAttempts: 3, backoff }, 50_000, false, () => 0);
    expect(d).toEqual({ kind: 'retry', runAtMs: 51_000, delayMs: 1_000 });
  });
  it('fails for good on the last attempt', () => {
    expect(decideAfterFailure({ attempts: 3, maxAttempts: 3, backoff }, 0, false)).toEqual({ kind: 'fail' });
  });
  it('fails at once for a permanent error', () => {
    expect(decideAfterFailure({ attempts: 1, maxAttempts: 10, backoff }, 0, true)).toEqual({ kind: 'fail' });
  });
});

describe('expiryFor', () => {
  it('uses the retention of each terminal status, in epoch seconds', () => {
    expect(expiryFor('completed', 0, DEFAULT_RETENTION)).toBe(7 * 86_400);
    expect(expiryFor('failed', 0, DEFAULT_RETENTION)).toBe(30 * 86_400);
    expect(expiryFor('cancelled', 1_500, { ...DEFAULT_RETENTION, cancelledMs: 1_000 })).toBe(3);
  });

  it("keeps a recurring firing's record at least 24 h (Scheduler's redelivery window), other keys as configured", () => {
    const short = { completedMs: 1_000, failedMs: 1_000, cancelledMs: 1_000 };
    for (const status of ['completed', 'failed', 'cancelled'] as const) {
      expect(expiryFor(status, 0, short, 'schedule:nightly@2030-01-01T02:00:00Z')).toBe(24 * 3_600);
      expect(expiryFor(status, 0, short, 'order-42')).toBe(1);
    }
    expect(expiryFor('completed', 0, DEFAULT_RETENTION, 'schedule:nightly@2030-01-01T02:00:00Z')).toBe(7 * 86_400);
  });
});
