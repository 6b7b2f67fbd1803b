/**
 * The local scheduler's timers, on fake time: cron firings in a time zone, far-off wake-ups (past
 * setTimeout's 24.8-day limit), coalescing, the minute tick, and stop(). The enqueue target only
 * records calls: what it writes is covered against DynamoDB Local in local-pickup.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LocalScheduler } from '../../lib/index.ts';
import type { EnqueueOptions, WakeEvent } from '../../lib/index.ts';
import { normalizeRecurring } from '../../lib/scheduler/recurring.ts';

const calls: { type: string; payload: unknown; options?: EnqueueOptions }[] = [];
const target = {
  store: { client: undefined as never, tableName: 'unused' },
  enqueue: async (type: string, payload: unknown, options?: EnqueueOptions) => (calls.push({ type, payload, ...(options ? { options } : {}) }), 'id'),
};
const wakes: (WakeEvent & { at: string })[] = [];
let scheduler: LocalScheduler;

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
  vi.setSystemTime(new Date('2026-06-30T21:30:00Z'));
  calls.length = 0;
  wakes.length = 0;
  scheduler = new LocalScheduler({ wake: (e) => wakes.push({ ...e, at: new Date().toISOString() }), ttlSweepMs: 0, tickMs: 60_000, queues: ['default'] });
});
afterEach(async () => {
  await scheduler.stop();
  vi.useRealTimers();
});

describe('LocalScheduler timers', () => {
  it('fires a cron schedule at its time in its time zone, each firing keyed by scheduled time', async () => {
    await scheduler.putRecurring(normalizeRecurring('paris-2am', 'cron(0 2 * * ? *)', 'report', { a: 1 }, { timezone: 'Europe/Paris', queue: 'reports' }, false));
    scheduler.start(target);
    await vi.advanceTimersByTimeAsync(2 * 3_600_000); // to 23:30Z: 01:30 in Paris
    expect(calls).toEqual([]);
    await vi.advanceTimersByTimeAsync(30 * 60_000); // 00:00Z = 02:00 CEST
    await vi.advanceTimersByTimeAsync(24 * 3_600_000);
    expect(calls.map((c) => c.options?.idempotencyKey)).toEqual(['schedule:paris-2am@2026-07-01T00:00:00.000Z', 'schedule:paris-2am@2026-07-02T00:00:00.000Z']);
    expect(calls[0]).toMatchObject({ type: 'report', payload: { a: 1 }, options: { queue: 'reports', priority: 10 } });
  });

  it('arms schedules made before start() only once started, and re-arms a replaced schedule', async () => {
    await scheduler.putRecurring(normalizeRecurring('r', 'rate(1 minute)', 't', {}, undefined, false));
    await vi.advanceTimersByTimeAsync(5 * 60_000);
    expect(calls).toHaveLength(0);
    scheduler.start(target);
    await scheduler.putRecurring(normalizeRecurring('r', 'rate(2 minutes)', 't', {}, undefined, false));
    await vi.advanceTimersByTimeAsync(6 * 60_000);
    expect(calls).toHaveLength(3);
  });

  it('wakes once per queue and bucket, even 40 days ahead', async () => {
    scheduler.start(target);
    const at = Date.parse('2026-08-09T10:00:00Z');
    await scheduler.wakeAt('mail', at);
    await scheduler.wakeAt('mail', at);
    await vi.advanceTimersByTimeAsync(at - Date.now() - 1);
    expect(wakes.filter((w) => w.reason === 'wake-up')).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(wakes.filter((w) => w.reason === 'wake-up')).toEqual([{ source: 'jobtable.wake', queue: 'mail', reason: 'wake-up', at: '2026-08-09T10:00:00.000Z' }]);
  });

  it('ticks every minute for every known queue', async () => {
    scheduler.start(target);
    await scheduler.wakeAt('mail', Date.now() + 3_600_000);
    await vi.advanceTimersByTimeAsync(2 * 60_000);
    expect(wakes.filter((w) => w.reason === 'tick').map((w) => w.queue)).toEqual(['default', 'mail', 'default', 'mail']);
  });

  it('kicks due jobs at once (with shards) and arms wake-ups for delayed ones from onEnqueued', async () => {
    const now = Date.now();
    scheduler.onEnqueued([
      { id: '1', queue: 'default', type: 't', runAt: new Date(now), shard: 4 },
      { id: '2', queue: 'default', type: 't', runAt: new Date(now + 10 * 60_000 + 30_000), shard: 1 },
    ]);
    expect(wakes).toEqual([{ source: 'jobtable.wake', queue: 'default', reason: 'enqueued', shards: [4], at: '2026-06-30T21:30:00.000Z' }]);
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect(wakes.filter((w) => w.reason === 'wake-up').map((w) => w.at)).toEqual(['2026-06-30T21:39:00.000Z']); // a minute before the job's minute
  });

  it('stop() cancels every timer', async () => {
    scheduler.start(target);
    await scheduler.putRecurring(normalizeRecurring('r', 'rate(1 minute)', 't', {}, undefined, false));
    await scheduler.wakeAt('q', Date.now() + 90_000);
    await scheduler.stop();
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect(calls).toEqual([]);
    expect(wakes).toEqual([]);
    expect(await scheduler.listRecurring()).toHaveLength(1); // kept for a later start()
  });
});
