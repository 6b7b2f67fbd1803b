/**
 * Part 5, pickup latency: an idle in-process `Worker`, woken by the queue's `onEnqueued`, and the
 * time from enqueue to handler start for due jobs and from `runAt` to start for delayed ones;
 * then the DynamoDB calls per second the idle worker makes.
 */
import { JobQueue, Worker } from '../../lib/index.ts';
import { CapacityMeter } from '../lib/capacity.ts';
import { benchClient, benchTable, BENCH_SHARDS } from '../lib/context.ts';
import type { BenchContext } from '../lib/context.ts';
import { latencySummary, round } from '../lib/stats.ts';
import type { LatencySummary } from '../lib/stats.ts';

/** Result of part 5. */
export interface PickupResult {
  /** Enqueue call start to handler start, due jobs. */
  readonly dueMs: LatencySummary;
  /** `runAt` to handler start, delayed jobs (delays 200 to 2,000 ms). */
  readonly delayedMs: LatencySummary;
  /** The worker's poll interval when nothing wakes it (null: the `Worker` default). */
  readonly pollIntervalMs: number | null;
  /** DynamoDB calls per second of the idle worker, and how long it was watched. */
  readonly idleCallsPerSec: number;
  readonly idleWatchMs: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Runs part 5. */
export async function benchPickup(ctx: BenchContext): Promise<PickupResult> {
  const client = benchClient(ctx);
  const workerClient = benchClient(ctx);
  const { tableName, drop } = await benchTable(client, 'pickup');
  const meter = new CapacityMeter().attach(workerClient);
  const started = new Map<number, number>();
  const workerQueue = new JobQueue({ tableName, client: workerClient, shardCount: BENCH_SHARDS });
  const pollIntervalMs = null;
  const worker = new Worker(workerQueue, { noop: (p: { n: number }) => void started.set(p.n, Date.now()) }, { concurrency: 8 });
  // The producer tells the worker which shards it wrote to, so the wake-up reads those first.
  const producer = new JobQueue({ tableName, client, shardCount: BENCH_SHARDS, onEnqueued: (jobs) => worker.wake(jobs.map((j) => j.shard)) });
  const running = worker.start();
  try {
    await sleep(ctx.quick ? 50 : 300); // let it go idle
    const waitStarted = async (n: number, timeoutMs: number) => {
      const end = Date.now() + timeoutMs;
      while (!started.has(n) && Date.now() < end) await sleep(2);
      if (!started.has(n)) throw new Error(`job ${n} did not start within ${timeoutMs} ms`);
    };
    const due: number[] = [];
    for (let n = 0; n < ctx.sizes.pickupDue; n++) {
      const t0 = Date.now();
      await producer.enqueue('noop', { n });
      await waitStarted(n, 10_000);
      due.push(started.get(n)! - t0);
      await sleep(20 + Math.floor(Math.random() * 30));
    }
    const delayed: number[] = [];
    const runAts = new Map<number, number>();
    const base = 100_000;
    for (let k = 0; k < ctx.sizes.pickupDelayed; k++) {
      const delayMs = 200 + Math.floor(Math.random() * 1_800);
      const runAt = Date.now() + delayMs;
      runAts.set(base + k, runAt);
      await producer.enqueue('noop', { n: base + k }, { runAt });
      await sleep(Math.floor(Math.random() * 200));
    }
    for (const [n, runAt] of runAts) {
      await waitStarted(n, 15_000);
      delayed.push(started.get(n)! - runAt);
    }
    await sleep(500);
    meter.reset();
    const watchStart = Date.now();
    await sleep(ctx.sizes.idleWatchMs);
    const watched = Date.now() - watchStart;
    const idleCallsPerSec = round((meter.totals().totalCalls / watched) * 1000, 2);
    const result: PickupResult = { dueMs: latencySummary(due), delayedMs: latencySummary(delayed), pollIntervalMs, idleCallsPerSec, idleWatchMs: watched };
    ctx.log(`pickup: due p50 ${result.dueMs.p50} p99 ${result.dueMs.p99} ms; delayed p99 ${result.delayedMs.p99} ms; idle ${idleCallsPerSec} calls/s`);
    return result;
  } finally {
    await worker.stop();
    await running;
    await drop();
    client.destroy();
    workerClient.destroy();
  }
}
