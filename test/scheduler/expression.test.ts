/** Pure: schedule expressions, recurring-job validation and the wake-up plan. */
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../lib/index.ts';
import { atExpression, nextFireMs, parseScheduleExpression } from '../../lib/scheduler/expression.ts';
import { firingIdempotencyKey, normalizeRecurring } from '../../lib/scheduler/recurring.ts';
import { MAX_WAKE_WAIT_MS, planWakeups, queueSlug, wakeScheduleName } from '../../lib/scheduler/wakeups.ts';

const at = (iso: string) => Date.parse(iso);
const next = (expr: string, after: string, timezone = 'UTC') => {
  const ms = nextFireMs(parseScheduleExpression(expr), at(after), { startMs: 0, timezone });
  return ms === null ? null : new Date(ms).toISOString();
};

describe('parseScheduleExpression', () => {
  it('parses rates with EventBridge units and plurals', () => {
    expect(parseScheduleExpression('rate(1 minute)')).toEqual({ kind: 'rate', periodMs: 60_000 });
    expect(parseScheduleExpression('rate(5 minutes)')).toEqual({ kind: 'rate', periodMs: 300_000 });
    expect(parseScheduleExpression('rate(2 hours)')).toEqual({ kind: 'rate', periodMs: 7_200_000 });
    expect(parseScheduleExpression(' rate(1 day) ')).toEqual({ kind: 'rate', periodMs: 86_400_000 });
  });

  it.each([
    ['rate(5 minute)', 'use "5 minutes"'],
    ['rate(1 minutes)', 'use "1 minute"'],
    ['rate(0 minutes)', 'not a positive integer'],
    ['rate(10 seconds)', 'at least one minute'],
    ['rate(1 week)', 'not allowed'],
    ['rate(1.5 hours)', 'not of the form'],
    ['cron(0 2 * * *)', '5 fields given'],
    ['cron(0 2 * * * *)', 'exactly one of day-of-month and day-of-week'],
    ['cron(0 2 ? * ? *)', 'exactly one of day-of-month and day-of-week'],
    ['cron(61 2 * * ? *)', 'minute'],
    ['at(2030-01-01T00:00:00)', 'neither a rate() nor a cron()'],
    ['every 5 minutes', 'neither a rate() nor a cron()'],
  ])('rejects %s', (expr, message) => {
    let err: unknown;
    try {
      parseScheduleExpression(expr);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).field).toBe('expression');
    expect((err as ValidationError).message).toContain(message);
  });

  it('accepts second rates only when allowed (local emulation)', () => {
    expect(parseScheduleExpression('rate(2 seconds)', { allowSeconds: true })).toEqual({ kind: 'rate', periodMs: 2_000 });
    expect(() => parseScheduleExpression('rate(2 seconds)')).toThrow(ValidationError);
  });

  it('rejects a non-string', () => {
    expect(() => parseScheduleExpression(42)).toThrow(ValidationError);
  });
});

describe('nextFireMs', () => {
  it('counts rates in whole periods from the start', () => {
    const expr = parseScheduleExpression('rate(5 minutes)');
    expect(nextFireMs(expr, 1_000, { startMs: 1_000 })).toBe(301_000);
    expect(nextFireMs(expr, 301_000, { startMs: 1_000 })).toBe(601_000);
    expect(nextFireMs(expr, 450_000, { startMs: 1_000 })).toBe(601_000);
  });

  it('evaluates EventBridge cron fields, weekdays numbered 1-7 from Sunday', () => {
    expect(next('cron(0 2 * * ? *)', '2026-11-22T03:00:00Z')).toBe('2026-11-23T02:00:00.000Z');
    expect(next('cron(0/15 8-17 ? * MON-FRI *)', '2026-11-21T12:00:00Z')).toBe('2026-11-23T08:00:00.000Z'); // Saturday -> Monday
    expect(next('cron(0 0 ? * 1 *)', '2026-11-22T20:00:00Z')).toBe('2026-11-29T00:00:00.000Z'); // 1 = Sunday
    expect(next('cron(15 10 ? * 6L *)', '2026-11-01T00:00:00Z')).toBe('2026-11-27T10:15:00.000Z'); // last Friday
    expect(next('cron(0 12 ? * 2#1 *)', '2026-11-22T00:00:00Z')).toBe('2026-12-07T12:00:00.000Z'); // first Monday
    expect(next('cron(0 0 L * ? *)', '2026-11-22T00:00:00Z')).toBe('2026-11-30T00:00:00.000Z');
    expect(next('cron(0 9 15W * ? *)', '2026-11-16T00:00:00Z')).toBe('2026-11-16T09:00:00.000Z'); // the 15th is a Sunday
  });

  it('reads cron in the schedule time zone, across daylight saving', () => {
    expect(next('cron(0 2 * * ? *)', '2026-06-30T12:00:00Z', 'Europe/Paris')).toBe('2026-07-01T00:00:00.000Z'); // CEST, UTC+2
    expect(next('cron(0 2 * * ? *)', '2026-11-30T12:00:00Z', 'Europe/Paris')).toBe('2026-12-01T01:00:00.000Z'); // CET, UTC+1
  });

  it('returns null when a cron has no future firing', () => {
    expect(next('cron(0 0 1 1 ? 2020)', '2026-01-01T00:00:00Z')).toBeNull();
  });

  it('formats at() in UTC, rounded up to the second', () => {
    expect(atExpression(at('2026-11-22T20:31:00.000Z'))).toBe('at(2026-11-22T20:31:00)');
    expect(atExpression(at('2026-11-22T20:31:00.001Z'))).toBe('at(2026-11-22T20:31:01)');
  });
});

describe('normalizeRecurring', () => {
  it('applies enqueue defaults and the UTC time zone', () => {
    const s = normalizeRecurring('nightly', 'cron(0 2 * * ? *)', 'generate_report', { kind: 'daily' }, undefined, false);
    expect(s).toEqual({
      name: 'nightly',
      expression: 'cron(0 2 * * ? *)',
      timezone: 'UTC',
      type: 'generate_report',
      payload: { kind: 'daily' },
      options: { queue: 'default', priority: 10, maxAttempts: 3, timeoutMs: 60_000, backoff: { baseMs: 1_000, maxMs: 300_000 } },
    });
  });

  it.each([
    [['', 'rate(1 minute)', 't', {}, undefined], 'name'],
    [['a'.repeat(49), 'rate(1 minute)', 't', {}, undefined], 'name'],
    [['ok', 'rate(1 minute)', '', {}, undefined], 'type'],
    [['ok', 'rate(1 minute)', 't', { f: () => 1 }, undefined], 'payload.f'],
    [['ok', 'rate(1 minute)', 't', {}, { priority: 5000 }], 'options.priority'],
    [['ok', 'rate(1 minute)', 't', {}, { delayMs: 5 }], 'options.delayMs'],
    [['ok', 'rate(1 minute)', 't', {}, { idempotencyKey: 'k' }], 'options.idempotencyKey'],
    [['ok', 'rate(1 minute)', 't', {}, { timezone: 'Nowhere/Land' }], 'options.timezone'],
    [['ok', 'rate(1 minute)', 't', { big: 'x'.repeat(9_000) }, undefined], 'payload'], // over the 8,192-character schedule input, locally too
  ] as const)('names the bad field %#', (args, field) => {
    const [name, expr, type, payload, options] = args;
    expect(() => normalizeRecurring(name, expr, type, payload, options as never, false)).toThrow(expect.objectContaining({ field }));
  });

  it('keys each firing by schedule and scheduled time', () => {
    expect(firingIdempotencyKey('nightly', '2026-11-23T02:00:00Z')).toBe('schedule:nightly@2026-11-23T02:00:00Z');
  });
});

describe('planWakeups', () => {
  const now = at('2026-11-22T20:00:10.000Z');

  it('kicks each queue with due work once, with its shards', () => {
    const plan = planWakeups(
      [
        { queue: 'b', runAtMs: now, shard: 3 },
        { queue: 'a', runAtMs: now - 5, shard: 1 },
        { queue: 'b', runAtMs: now - 1, shard: 0 },
        { queue: 'b', runAtMs: now, shard: 3 },
      ],
      now,
    );
    expect(plan).toEqual({ kick: [{ queue: 'a', shards: [1] }, { queue: 'b', shards: [0, 3] }], wakeAt: [] });
  });

  it('coalesces delayed jobs into one wake-up per queue and minute, set a minute ahead (Scheduler fires within its minute)', () => {
    const plan = planWakeups(
      [
        { queue: 'a', runAtMs: at('2026-11-22T20:05:07Z') },
        { queue: 'a', runAtMs: at('2026-11-22T20:05:59.999Z') },
        { queue: 'a', runAtMs: at('2026-11-22T20:06:00Z') },
        { queue: 'b', runAtMs: at('2026-11-22T20:05:30Z') },
      ],
      now,
    );
    expect(plan.kick).toEqual([]);
    expect(plan.wakeAt).toEqual([
      { queue: 'a', atMs: at('2026-11-22T20:04:00Z') },
      { queue: 'b', atMs: at('2026-11-22T20:04:00Z') },
      { queue: 'a', atMs: at('2026-11-22T20:05:00Z') },
    ]);
    // Fired anywhere in its minute, the wake-up is before the job is due and within the drain's wait.
    for (const job of ['2026-11-22T20:05:00Z', '2026-11-22T20:05:59.999Z']) {
      const w = planWakeups([{ queue: 'a', runAtMs: at(job) }], now).wakeAt[0]!;
      for (const fired of [w.atMs, w.atMs + 59_999]) {
        expect(fired).toBeLessThanOrEqual(at(job));
        expect(at(job) - fired).toBeLessThanOrEqual(MAX_WAKE_WAIT_MS);
      }
    }
  });

  it('kicks instead of scheduling a wake-up less than 5 s away (the drain waits for the job)', () => {
    // due at 20:01:30: its wake-up would be at(20:00), already past at 20:00:10
    expect(planWakeups([{ queue: 'a', runAtMs: at('2026-11-22T20:01:30Z') }], now)).toEqual({ kick: [{ queue: 'a', shards: [] }], wakeAt: [] });
    expect(at('2026-11-22T20:01:59.999Z') - now).toBeLessThanOrEqual(MAX_WAKE_WAIT_MS);
    expect(planWakeups([{ queue: 'a', runAtMs: at('2026-11-22T20:02:00Z') }], now).wakeAt).toEqual([{ queue: 'a', atMs: at('2026-11-22T20:01:00Z') }]);
  });

  it('names wake-ups deterministically within EventBridge limits', () => {
    expect(wakeScheduleName('default', at('2026-11-22T20:05:00Z'))).toBe('w-default-202611222005');
    const odd = 'tenant:42/emails' + 'x'.repeat(48);
    const name = wakeScheduleName(odd, at('2026-11-22T20:05:00Z'));
    expect(name).toMatch(/^[0-9A-Za-z_.-]{1,64}$/);
    expect(queueSlug(odd)).not.toBe(queueSlug(odd.replace('42', '43')));
    expect(queueSlug('tenant:42')).not.toBe(queueSlug('tenant_42'));
  });
});
