import { describe, expect, it } from 'vitest';
import { backoffBounds, backoffDelay, DEFAULT_BACKOFF } from '../../lib/model/backoff.ts';

describe('backoffBounds', () => {
  it('doubles per attempt from baseMs and keeps a floor of half the cap', () => {
    const b = { baseMs: 100, maxMs: 10_000 };
    expect(backoffBounds(1, b)).toEqual({ minMs: 50, maxMs: 100 });
    expect(backoffBounds(2, b)).toEqual({ minMs: 100, maxMs: 200 });
    expect(backoffBounds(5, b)).toEqual({ minMs: 800, maxMs: 1_600 });
  });

  it('never exceeds maxMs, even for huge attempt numbers', () => {
    expect(backoffBounds(10_000, DEFAULT_BACKOFF)).toEqual({ minMs: 150_000, maxMs: 300_000 });
  });

  it('treats attempt 0 like the first retry', () => {
    expect(backoffBounds(0, { baseMs: 100, maxMs: 1000 })).toEqual({ minMs: 50, maxMs: 100 });
  });
});

describe('backoffDelay', () => {
  it('stays within the bounds for random 0 and just under 1', () => {
    const b = { baseMs: 1_000, maxMs: 60_000 };
    for (let attempt = 1; attempt <= 12; attempt++) {
      const { minMs, maxMs } = backoffBounds(attempt, b);
      expect(backoffDelay(attempt, b, () => 0)).toBe(minMs);
      expect(backoffDelay(attempt, b, () => 0.999999)).toBe(maxMs);
    }
  });

  it('spreads delays (jitter) across the range', () => {
    const b = { baseMs: 1_000, maxMs: 60_000 };
    const delays = new Set(Array.from({ length: 50 }, () => backoffDelay(3, b)));
    expect(delays.size).toBeGreaterThan(10);
    for (const d of delays) expect(d).toBeGreaterThanOrEqual(2_000), expect(d).toBeLessThanOrEqual(4_000);
  });

  it('is zero when baseMs is zero', () => {
    expect(backoffDelay(4, { baseMs: 0, maxMs: 0 }, () => 0.5)).toBe(0);
  });
});
