/**
 * Prompt pickup, delayed-job wake-ups, recurring schedules and TTL deletion with the local
 * scheduler, against the real DynamoDB Local. Workers poll only every 60 s here, so anything that
 * starts sooner was started by the scheduler's kick or wake-up.
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobQueue, LocalScheduler, SchedulerNotConfiguredError, ValidationError, Worker } from '../../lib/index.ts';
import type { EnqueuedJob, WakeEvent } from '../../lib/index.ts';
import { freshQueue, sleep, waitFor } from '../helpers/ddb.ts';

type Started = { id: string; at: number; runAt: number };

describe('local scheduler with an idle worker', () => {
  let queue: JobQueue;
  let scheduler: LocalScheduler;
  let worker: Worker;
  let cleanup: () => Promise<void>;
  const started: Started[] = [];
  const wakes: WakeEvent[] = [];
  const enqueued: EnqueuedJob[] = [];

  beforeAll(async () => {
    scheduler = new LocalScheduler({
      wake: (e) => {
        wakes.push(e);
        worker?.wake(e.shards);
      },
      allowSecondRates: true,
      tickMs: 0,
      ttlSweepMs: 0,
      // 2 s buckets so a wake-up (not only a kick) is exercised within seconds.
      plan: { bucketMs: 2_000, minLeadMs: 500 },
    });
    let client;
    ({ queue, client, cleanup } = await freshQueue({ scheduler, onEnqueued: (jobs) => (enqueued.push(...jobs), scheduler.onEnqueued(jobs)) }));
    // Track DynamoDB calls in flight, to know when the worker has gone idle.
    client.middlewareStack.add(
      (next) => async (args) => {
        inFlight++;
        try {
          return await next(args);
        } finally {
          inFlight--;
          lastCallEnd = Date.now();
        }
      },
      { step: 'initialize', name: 'idleTracker' },
    );
    const record = (_p: unknown, ctx: { job: { id: string; runAt: Date } }) => {
      started.push({ id: ctx.job.id, at: Date.now(), runAt: ctx.job.runAt.getTime() });
    };
    worker = new Worker(queue, { work: record, tick: record }, { pollIntervalMs: 60_000, concurrency: 4 });
    scheduler.start(queue);
    void worker.start();
    // Warm up (first connections, JIT): one job through the whole path before measuring.
    const warm = await queue.enqueue('work', { warm: true });
    await waitFor(() => started.some((s) => s.id === warm), 20_000);
  });
  afterAll(async () => {
    await worker.stop();
    await scheduler.stop();
    await cleanup();
  });

  let inFlight = 0;
  let lastCallEnd = Date.now();
  /** Until the worker has made no DynamoDB call for 300 ms: it sleeps (its poll is 60 s). */
  const idle = () => waitFor(() => inFlight === 0 && Date.now() - lastCallEnd > 300, 20_000);
  const startOf = (id: string) => waitFor(() => started.find((s) => s.id === id), 15_000) as Promise<Started>;

  it('starts a due job enqueued while the worker is idle within 1 s', async () => {
    const latencies: number[] = [];
    for (let i = 0; i < 5; i++) {
      await idle();
      const t0 = Date.now();
      const id = await queue.enqueue('work', { i });
      const s = await startOf(id);
      latencies.push(s.at - t0);
    }
    console.log(`local pickup latency (enqueue call -> handler start), ms: ${latencies.join(', ')}`);
    for (const l of latencies) expect(l).toBeLessThan(1_000);
  });

  it('starts a job delayed by 3 s within 1 s after its runAt, and not before', async () => {
    await idle();
    const id = await queue.enqueue('work', {}, { delayMs: 3_000 });
    const s = await startOf(id);
    console.log(`3 s delay: started ${s.at - s.runAt} ms after runAt`);
    expect(s.at).toBeGreaterThanOrEqual(s.runAt);
    expect(s.at - s.runAt).toBeLessThan(1_000);
  });

  it('wakes the idle worker with a one-time wake-up for a job due after the current bucket', async () => {
    await idle();
    const before = wakes.length;
    const id = await queue.enqueue('work', {}, { delayMs: 6_000 });
    const s = await startOf(id);
    const newWakes = wakes.slice(before);
    expect(newWakes.map((w) => w.reason)).toContain('wake-up');
    expect(newWakes.map((w) => w.reason)).not.toContain('enqueued'); // no kick: it was not due soon
    expect(s.at).toBeGreaterThanOrEqual(s.runAt);
    expect(s.at - s.runAt).toBeLessThan(1_000);
  });

  it('fires a recurring job on its schedule and stops after unschedule', async () => {
    const firstTick = enqueued.length;
    const t0 = Date.now();
    const def = await queue.schedule('every-second', 'rate(1 second)', 'tick', { n: 1 }, { priority: 5 });
    expect(def.options.priority).toBe(5);
    expect((await queue.listSchedules()).map((s) => s.name)).toEqual(['every-second']);
    await sleep(3_500);
    expect(await queue.unschedule('every-second')).toBe(true);
    expect(await queue.unschedule('every-second')).toBe(false);
    expect(await queue.listSchedules()).toEqual([]);
    const ticks = enqueued.slice(firstTick).filter((j) => j.type === 'tick');
    // One job per firing, each keyed by its scheduled time: whole seconds after the schedule was made.
    const jobs = await Promise.all(ticks.map((t) => queue.getJob(t.id)));
    const times = jobs.map((j) => Date.parse(j!.idempotencyKey!.replace('schedule:every-second@', ''))).sort((a, b) => a - b);
    expect(times.length).toBeGreaterThanOrEqual(3);
    expect(times.length).toBeLessThanOrEqual(4);
    expect(times[0]! - t0).toBeGreaterThanOrEqual(1_000);
    expect(times[0]! - t0).toBeLessThan(1_000 + 500);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBe(1_000);
    // Each was run, none before its firing time, and no firing came after unschedule.
    await waitFor(() => ticks.every((t) => started.some((s) => s.id === t.id)), 15_000);
    for (const [i, t] of ticks.entries()) expect(started.find((s) => s.id === t.id)!.at).toBeGreaterThanOrEqual(times[i]!);
    await sleep(1_200);
    expect(enqueued.slice(firstTick).filter((j) => j.type === 'tick')).toHaveLength(ticks.length);
  });

  it('rejects a bad expression with a typed error and creates nothing', async () => {
    await expect(queue.schedule('bad', 'rate(0 minutes)', 'tick', {})).rejects.toBeInstanceOf(ValidationError);
    await expect(queue.schedule('bad', 'cron(0 2 * * * *)', 'tick', {})).rejects.toMatchObject({ field: 'expression' });
    await expect(queue.schedule('bad name!', 'rate(1 minute)', 'tick', {})).rejects.toMatchObject({ field: 'name' });
    await expect(queue.schedule('bad', 'rate(1 minute)', 'tick', {}, { timezone: 'Mars/Olympus' })).rejects.toMatchObject({ field: 'options.timezone' });
    expect(await queue.listSchedules()).toEqual([]);
  });
});

describe('without a scheduler', () => {
  it('schedule, unschedule and listSchedules throw SchedulerNotConfiguredError', async () => {
    const { queue, cleanup } = await freshQueue();
    try {
      await expect(queue.schedule('x', 'rate(1 minute)', 'tick', {})).rejects.toBeInstanceOf(SchedulerNotConfiguredError);
      await expect(queue.unschedule('x')).rejects.toMatchObject({ code: 'NO_SCHEDULER' });
      await expect(queue.listSchedules()).rejects.toMatchObject({ code: 'NO_SCHEDULER' });
    } finally {
      await cleanup();
    }
  });
});

describe('local TTL deletion', () => {
  it('deletes expired finished jobs and keeps the rest', async () => {
    const { queue, cleanup } = await freshQueue({ retention: { completedMs: 0 } });
    // The sweeper's clock runs 10 s ahead so the just-finished job's TTL has passed.
    const scheduler = new LocalScheduler({ wake: () => {}, tickMs: 0, ttlSweepMs: 0, clock: { now: () => Date.now() + 10_000 } });
    scheduler.start(queue);
    try {
      const raw = async (id: string) =>
        (await queue.store.client.send(new GetItemCommand({ TableName: queue.tableName, Key: { id: { S: id } }, ConsistentRead: true }))).Item;
      const done = await queue.enqueue('work', {});
      await queue.processJobs({ work: () => 'ok' });
      const pending = await queue.enqueue('work', {}, { delayMs: 3_600_000 });
      expect(await raw(done)).toBeDefined(); // finished and expired, but DynamoDB Local keeps it
      expect(await scheduler.sweepTtl()).toBe(1);
      expect(await raw(done)).toBeUndefined();
      expect((await queue.getJob(pending))?.status).toBe('pending');
      expect(await scheduler.sweepTtl()).toBe(0);
    } finally {
      await scheduler.stop();
      await cleanup();
    }
  });
});
