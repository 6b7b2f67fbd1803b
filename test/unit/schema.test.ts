import { describe, expect, it } from 'vitest';
import { decodeRunOrder, encodeReadyOrder, encodeScheduledOrder, scheduledDueBound, statusShardKey, PRIORITY_MAX, PRIORITY_MIN } from '../../lib/schema.ts';

describe('encodeReadyOrder', () => {
  it('sorts higher priority first, then older first', () => {
    const keys = [
      encodeReadyOrder(10, 2_000),
      encodeReadyOrder(30, 5_000),
      encodeReadyOrder(10, 1_000),
      encodeReadyOrder(-5, 0),
      encodeReadyOrder(PRIORITY_MAX, 9_999_999_999_999),
      encodeReadyOrder(PRIORITY_MIN, 0),
    ];
    const sorted = [...keys].sort();
    expect(sorted.map((k) => decodeRunOrder(k))).toEqual([
      { priority: PRIORITY_MAX, runAtMs: 9_999_999_999_999 },
      { priority: 30, runAtMs: 5_000 },
      { priority: 10, runAtMs: 1_000 },
      { priority: 10, runAtMs: 2_000 },
      { priority: -5, runAtMs: 0 },
      { priority: PRIORITY_MIN, runAtMs: 0 },
    ]);
  });
});

describe('encodeScheduledOrder / scheduledDueBound', () => {
  it('sorts by due time, and the due bound selects exactly the due prefix', () => {
    const now = 1_700_000_000_000;
    const due = [encodeScheduledOrder(0, now - 10), encodeScheduledOrder(PRIORITY_MAX, now), encodeScheduledOrder(PRIORITY_MIN, now)];
    const notDue = [encodeScheduledOrder(PRIORITY_MAX, now + 1), encodeScheduledOrder(0, now + 86_400_000)];
    const bound = scheduledDueBound(now);
    for (const k of due) expect(k <= bound).toBe(true);
    for (const k of notDue) expect(k <= bound).toBe(false);
    expect(decodeRunOrder(encodeScheduledOrder(20, now))).toEqual({ priority: 20, runAtMs: now });
  });

  it('keeps ready keys before scheduled keys', () => {
    expect(encodeReadyOrder(PRIORITY_MIN, 9e14) < encodeScheduledOrder(PRIORITY_MAX, 0)).toBe(true);
  });
});

describe('statusShardKey', () => {
  it('is queue#lane#two-digit shard', () => {
    expect(statusShardKey('emails', 'due', 7)).toBe('emails#due#07');
    expect(statusShardKey('default', 'failed', 15)).toBe('default#failed#15');
  });
  it('rejects nothing it cannot decode', () => {
    expect(decodeRunOrder('2024-01-01T00:00:00.000Z')).toBeNull();
  });
});
