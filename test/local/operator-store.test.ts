/**
 * The cheap reads behind the operator's dashboard, on DynamoDB Local: bounded counts (exact under
 * the cap, marked as lower bounds over it), queue discovery from the index, the type filter on
 * both kinds of lists; and the activity log's sliding window.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActivityLog, observeWorkerEvents } from '../../lib/local/activity.ts';
import { discoverQueues } from '../../lib/store/discover-queues.ts';
import { countQueue } from '../../lib/store/queue-counts.ts';
import type { Job } from '../../lib/index.ts';
import { freshQueue } from '../helpers/ddb.ts';

let q: Awaited<ReturnType<typeof freshQueue>>;
beforeAll(async () => {
  q = await freshQueue({ shardCount: 2 });
  for (let i = 0; i < 6; i++) await q.queue.enqueue('a', { i });
  for (let i = 0; i < 4; i++) await q.queue.enqueue('b', { i }, { delayMs: 3_600_000 });
  await q.queue.enqueue('c', {}, { queue: 'other' });
  await q.queue.enqueue('ok', {}, { queue: 'done' });
  await q.queue.processJobs({ ok: () => 'fine' }, { queue: 'done' });
});
afterAll(async () => q?.cleanup());

describe('bounded counts', () => {
  it('are exact under the cap, with delayed apart from waiting', async () => {
    const c = await countQueue(q.queue.store, 'default');
    expect(c).toMatchObject({ waiting: 6, delayed: 4, processing: 0, failed: 0, cancelled: 0, capped: { due: false, failed: false, cancelled: false } });
    expect(c.oldestWaitingMs).toBeGreaterThanOrEqual(0);
  });

  it('stop at the cap and say so', async () => {
    const c = await countQueue(q.queue.store, 'default', 4); // 2 entries per shard
    expect(c.capped.due).toBe(true);
    expect(c.waiting + c.delayed).toBeLessThanOrEqual(4);
    expect(c.waiting + c.delayed).toBeGreaterThan(0);
  });
});

describe('queue discovery', () => {
  it('finds every queue with jobs in the index, not the ones with only completed jobs', async () => {
    expect(await discoverQueues(q.queue.store)).toMatchObject({ queues: ['default', 'other'], complete: true });
  });
});

describe('type filter', () => {
  it('applies to index lists and to the completed scan', async () => {
    const b = await q.queue.listJobs({ status: 'pending', type: 'b', limit: 50 });
    expect(b.jobs.map((j) => j.type)).toEqual(['b', 'b', 'b', 'b']);
    expect((await q.queue.listJobs({ status: 'completed', queue: 'done', type: 'ok' })).jobs).toHaveLength(1);
    expect((await q.queue.listJobs({ status: 'completed', queue: 'done', type: 'nope' })).jobs).toHaveLength(0);
    await expect(q.queue.listJobs({ status: 'pending', type: '' })).rejects.toMatchObject({ field: 'type' });
  });
});

describe('activity log', () => {
  it('counts by minute and type over a sliding hour, with mean run times', () => {
    let now = Date.UTC(2026, 0, 1, 12, 0, 30);
    const log = new ActivityLog({ source: 'test', now: () => now });
    const job = (type: string) => ({ id: 'x', type }) as Job;
    const observe = observeWorkerEvents(log, 'default', () => now);
    observe({ kind: 'completed', job: job('a'), durationMs: 100 });
    observe({ kind: 'completed', job: job('a'), durationMs: 300 });
    observe({ kind: 'failed', job: job('b'), error: new Error('x'), durationMs: 50 });
    observe({ kind: 'claimed', job: job('a'), pickupDelayMs: 5 });
    log.record({ queue: 'other', type: 'a', kind: 'retried', atMs: now });
    let snap = log.snapshot('default');
    expect(snap.minutes).toHaveLength(60);
    expect(snap.minutes.at(-1)).toMatchObject({ completed: 2, failed: 1, retried: 0 });
    expect(snap.byType).toEqual([
      { type: 'a', completed: 2, failed: 0, retried: 0, meanDurationMs: 200 },
      { type: 'b', completed: 0, failed: 1, retried: 0, meanDurationMs: 50 },
    ]);
    expect(log.snapshot(undefined).minutes.at(-1)).toMatchObject({ completed: 2, failed: 1, retried: 1 });
    expect(log.queues()).toEqual(['default', 'other']);
    now += 59 * 60_000; // the first minute is now the oldest of the window
    expect(log.snapshot('default').minutes[0]).toMatchObject({ completed: 2 });
    now += 60_000; // and now it has left it
    snap = log.snapshot('default');
    expect(snap.byType).toEqual([]);
    expect(log.queues()).toEqual([]);
    log.record({ queue: 'default', type: 'a', kind: 'completed', atMs: now - 2 * 3_600_000 });
    expect(log.snapshot('default').byType).toEqual([]);
  });
});
