/**
 * Part 4, cost: write and read units per job from `ReturnConsumedCapacity: 'INDEXES'`, table and
 * index apart, on the happy path and on a path with one retry; plus failed conditions and empty
 * queries, which DynamoDB Local does not report but AWS bills. Dollars at on-demand prices.
 */
import { JobQueue } from '../../lib/index.ts';
import { CapacityMeter, dollarsPerMillionJobs, PRICES } from '../lib/capacity.ts';
import type { CostTotals } from '../lib/capacity.ts';
import { benchClient, benchTable, BENCH_SHARDS } from '../lib/context.ts';
import type { BenchContext } from '../lib/context.ts';
import { round } from '../lib/stats.ts';

/** Units per job on one path. */
export interface PathCost {
  readonly jobs: number;
  readonly completed: number;
  /** Write units per job reported by DynamoDB Local: table, index, and their sum. */
  readonly writeUnitsPerJob: { readonly table: number; readonly index: number; readonly total: number };
  /** Read units per job reported: table, index. */
  readonly readUnitsPerJob: { readonly table: number; readonly index: number; readonly total: number };
  /** Failed conditional writes per job (AWS bills >= 1 write unit each). */
  readonly failedConditionsPerJob: number;
  /** Queries per job that read nothing (AWS bills 0.5 read units each). */
  readonly emptyQueriesPerJob: number;
  /** What AWS would bill per job: reported plus the two corrections above. */
  readonly billedWriteUnitsPerJob: number;
  readonly billedReadUnitsPerJob: number;
  /** Calls per job by command. */
  readonly callsPerJob: Record<string, number>;
  readonly dollarsPerMillionJobs: number;
}

/** Result of part 4 (lost races per job come from part 3). */
export interface CostResult {
  readonly happy: PathCost;
  readonly retryOnce: PathCost;
  /**
   * Debounce, per enqueue: keys enqueued {@link DEBOUNCE_ENQUEUES_PER_KEY} times each inside the
   * window, then drained (one run per key, its cost spread over the key's enqueues).
   */
  readonly debounce: PathCost;
  /** FIFO per group, per job: jobs of {@link FIFO_JOBS_PER_GROUP} per group, drained by one worker. */
  readonly fifo: PathCost;
  readonly prices: typeof PRICES;
  /** SQS: send + receive + delete per job. */
  readonly sqsDollarsPerMillionJobs: number;
}

/** Units per job of a measured path. */
export function perJob(t: CostTotals, jobs: number, completed: number): PathCost {
  const d = (n: number) => round(n / jobs, 3);
  const billedW = d(t.billedWriteUnits);
  const billedR = d(t.billedReadUnits);
  return {
    jobs,
    completed,
    writeUnitsPerJob: { table: d(t.writeUnits.table), index: d(t.writeUnits.index), total: d(t.writeUnits.table + t.writeUnits.index) },
    readUnitsPerJob: { table: d(t.readUnits.table), index: d(t.readUnits.index), total: d(t.readUnits.table + t.readUnits.index) },
    failedConditionsPerJob: d(t.failedConditions),
    emptyQueriesPerJob: d(t.emptyQueries),
    billedWriteUnitsPerJob: billedW,
    billedReadUnitsPerJob: billedR,
    callsPerJob: Object.fromEntries(Object.entries(t.calls).map(([k, v]) => [k.replace(/Command$/, ''), d(v)])),
    dollarsPerMillionJobs: round(dollarsPerMillionJobs(billedW, billedR), 3),
  };
}

/** Enqueues of one debounce key per run, in the debounce cost path. */
export const DEBOUNCE_ENQUEUES_PER_KEY = 10;
/** Jobs per group in the FIFO cost path. */
export const FIFO_JOBS_PER_GROUP = 10;

/** Meters `body` on a fresh table; `body` returns how many units (enqueues or jobs) and completions it made. */
async function metered(ctx: BenchContext, label: string, body: (queue: JobQueue) => Promise<{ units: number; completed: number }>, options: Partial<ConstructorParameters<typeof JobQueue>[0]> = {}): Promise<PathCost> {
  const client = benchClient(ctx);
  const { tableName, drop } = await benchTable(client, label);
  try {
    const meter = new CapacityMeter().attach(client);
    const { units, completed } = await body(new JobQueue({ tableName, client, shardCount: BENCH_SHARDS, ...options }));
    return perJob(meter.totals(), units, completed);
  } finally {
    await drop();
    client.destroy();
  }
}

/** Debounce: each key enqueued {@link DEBOUNCE_ENQUEUES_PER_KEY} times (1 s window), then one run per key. */
function measureDebounce(ctx: BenchContext): Promise<PathCost> {
  return metered(ctx, 'cost-debounce', async (queue) => {
    const keys = Math.max(2, Math.ceil(ctx.sizes.costJobs / DEBOUNCE_ENQUEUES_PER_KEY));
    for (let i = 0; i < DEBOUNCE_ENQUEUES_PER_KEY; i++) {
      for (let k = 0; k < keys; k++) await queue.enqueue('noop', { i }, { debounce: { key: `key-${k}`, windowMs: 1_000 } });
    }
    const report = await queue.processJobs({ noop: () => null }, { concurrency: 16, waitForDueWithinMs: 3_000 });
    return { units: keys * DEBOUNCE_ENQUEUES_PER_KEY, completed: report.completed };
  });
}

/** FIFO per group: groups of {@link FIFO_JOBS_PER_GROUP} jobs, enqueued interleaved, drained by one worker. */
function measureFifo(ctx: BenchContext): Promise<PathCost> {
  return metered(ctx, 'cost-fifo', async (queue) => {
    const groups = Math.max(2, Math.ceil(ctx.sizes.costJobs / FIFO_JOBS_PER_GROUP));
    for (let i = 0; i < FIFO_JOBS_PER_GROUP; i++) for (let g = 0; g < groups; g++) await queue.enqueue('noop', { i }, { group: `group-${g}` });
    const report = await queue.processJobs({ noop: () => null }, { concurrency: 16, waitForDueWithinMs: 1_000 });
    return { units: groups * FIFO_JOBS_PER_GROUP, completed: report.completed };
  }, { limits: { default: { group: { fifo: true } } } });
}

async function measurePath(ctx: BenchContext, label: string, failFirst: boolean): Promise<PathCost> {
  const client = benchClient(ctx);
  const { tableName, drop } = await benchTable(client, label);
  try {
    const meter = new CapacityMeter().attach(client);
    const queue = new JobQueue({ tableName, client, shardCount: BENCH_SHARDS });
    const n = ctx.sizes.costJobs;
    const options = failFirst ? { backoff: { baseMs: 0, maxMs: 0 } } : {};
    // Single enqueues: the path most callers take (a batch costs the same units, fewer calls).
    for (let i = 0; i < n; i++) await queue.enqueue('noop', { n: i }, options);
    const report = await queue.processJobs(
      { noop: (_p: unknown, c: { attempt: number }) => { if (failFirst && c.attempt === 1) throw new Error('first attempt fails'); return null; } },
      { concurrency: 16, waitForDueWithinMs: failFirst ? 2_000 : 0 },
    );
    return perJob(meter.totals(), n, report.completed);
  } finally {
    await drop();
    client.destroy();
  }
}

/** Runs part 4. */
export async function benchCost(ctx: BenchContext): Promise<CostResult> {
  const happy = await measurePath(ctx, 'cost-happy', false);
  const retryOnce = await measurePath(ctx, 'cost-retry', true);
  const debounce = await measureDebounce(ctx);
  const fifo = await measureFifo(ctx);
  ctx.log(`cost: happy ${happy.billedWriteUnitsPerJob} WRU + ${happy.billedReadUnitsPerJob} RRU per job ($${happy.dollarsPerMillionJobs}/M); one retry ${retryOnce.billedWriteUnitsPerJob} WRU`);
  ctx.log(`cost: debounce ${debounce.billedWriteUnitsPerJob} WRU + ${debounce.billedReadUnitsPerJob} RRU per enqueue; FIFO ${fifo.billedWriteUnitsPerJob} WRU + ${fifo.billedReadUnitsPerJob} RRU per job`);
  return { happy, retryOnce, debounce, fifo, prices: PRICES, sqsDollarsPerMillionJobs: round(3 * PRICES.sqsPerMillionRequests, 3) };
}
