/**
 * `JobQueue.stats()` (lib/store/count-jobs.ts) against DynamoDB Local: counts by status from the
 * index lanes and the completed scan, expired records left out, queues kept apart, and the age of
 * the oldest due job, with an injected clock so that ages are exact.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobQueue } from '../../lib/index.ts';
import { freshQueue } from '../helpers/ddb.ts';

// The injected clock runs an hour ahead of real time, so the 60 s retentions set below (TTL
// `ttl` values) lie in the real future: nothing here may look expired to the server itself.
const T0 = Math.floor(Date.now() / 1000) * 1000 + 3_600_000;
let now = T0;
const clock = { now: () => now };
let queue: JobQueue;
let cleanup: () => Promise<void>;

beforeAll(async () => ({ queue, cleanup } = await freshQueue({ clock, shardCount: 4, retention: { completedMs: 60_000, failedMs: 60_000, cancelledMs: 60_000 } })));
afterAll(async () => cleanup());

describe('JobQueue.stats', () => {
  it('counts an empty queue as zero with no due job', async () => {
    const s = await queue.stats({ queue: 'empty' });
    expect(s).toMatchObject({ queue: 'empty', total: 0, oldestDueAt: null, oldestDueAgeMs: null });
    expect(s.counts).toEqual({ waiting: 0, pending: 0, processing: 0, completed: 0, failed: 0, cancelled: 0 });
  });

  it('counts every status, and only the queue asked for', async () => {
    const q = 'mixed';
    // 2 completed, 1 failed, 1 cancelled, 1 processing, 3 pending (one of them delayed).
    await queue.enqueue('ok', {}, { queue: q });
    await queue.enqueue('ok', {}, { queue: q });
    const boom = await queue.enqueue('boom', {}, { queue: q, maxAttempts: 1 });
    await queue.processJobs({ ok: () => 'done', boom: () => { throw new Error('no'); } }, { queue: q });
    expect((await queue.getJob(boom))?.status).toBe('failed');
    await expect.poll(async () => (await queue.stats({ queue: q })).counts.failed, { timeout: 15_000, interval: 200 }).toBe(1);
    const toCancel = await queue.enqueue('ok', {}, { queue: q, delayMs: 5_000 });
    expect(await queue.cancelJob(toCancel)).toBe(true);

    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    await queue.enqueue('hold', {}, { queue: q });
    const running = queue.processJobs({ hold: () => held }, { queue: q, maxJobs: 1 });
    await expect.poll(async () => (await queue.stats({ queue: q })).counts.processing, { timeout: 10_000 }).toBe(1);

    await queue.enqueue('later', {}, { queue: q, delayMs: 60_000 });
    await queue.enqueue('now', {}, { queue: q });
    await queue.enqueue('now', {}, { queue: q, priority: 500 });
    await queue.enqueue('elsewhere', {}, { queue: 'other' });

    // Counts come from index queries, which are eventually consistent; under heavy CPU load
    // DynamoDB Local was seen to return a short count now and then, so wait for a reading that
    // agrees in full (counts and total from the same call).
    await expect
      .poll(
        async () => {
          const r = await queue.stats({ queue: q });
          return { counts: r.counts, total: r.total };
        },
        { timeout: 15_000, interval: 200 },
      )
      .toEqual({ counts: { waiting: 0, pending: 3, processing: 1, completed: 2, failed: 1, cancelled: 1 }, total: 8 });
    expect((await queue.stats({ queue: 'other' })).counts.pending).toBe(1);
    release();
    await running;
    await expect.poll(async () => (await queue.stats({ queue: q })).counts, { timeout: 15_000, interval: 200 }).toMatchObject({ processing: 0, completed: 3 });
  });

  it('gives the age of the oldest due pending job, ignoring jobs not yet due and higher priorities', async () => {
    const q = 'ages';
    await queue.enqueue('a', {}, { queue: q, runAt: T0 - 90_000, priority: 0 }); // oldest, low priority
    await queue.enqueue('b', {}, { queue: q, runAt: T0 - 10_000, priority: 900 });
    await queue.enqueue('c', {}, { queue: q, delayMs: 30_000 }); // not due
    let s = await queue.stats({ queue: q });
    expect(s.oldestDueAt?.getTime()).toBe(T0 - 90_000);
    expect(s.oldestDueAgeMs).toBe(90_000);

    // A scheduled job that falls due counts from its due time.
    now = T0 + 200_000;
    s = await queue.stats({ queue: q });
    expect(s.oldestDueAgeMs).toBe(290_000);
    now = T0;
  });

  it('leaves out finished records whose retention has passed (DynamoDB Local never deletes them)', async () => {
    const q = 'expiry';
    const id = await queue.enqueue('x', {}, { queue: q, delayMs: 1_000 });
    await queue.cancelJob(id);
    await queue.enqueue('ok', {}, { queue: q });
    await queue.enqueue('bad', {}, { queue: q, maxAttempts: 1 });
    await queue.processJobs({ ok: () => 1, bad: () => { throw new Error('x'); } }, { queue: q });
    expect((await queue.stats({ queue: q })).counts).toMatchObject({ cancelled: 1, completed: 1, failed: 1 });
    now = T0 + 61_000; // past the 60 s retention of all three
    expect((await queue.stats({ queue: q })).counts).toMatchObject({ cancelled: 0, completed: 0, failed: 0 });
    now = T0;
  });

  it('rejects a bad queue name with a typed error', async () => {
    await expect(queue.stats({ queue: 'bad queue!' })).rejects.toMatchObject({ name: 'ValidationError', field: 'queue' });
  });
});
