/**
 * Part 4b, flow control (issue 12): write and read units per job for each feature (a group alone,
 * group and queue concurrency limits, group and queue rate limits), measured like part 4 with one
 * worker (the uncontended cost), next to a plain job; and drain throughput with a group
 * concurrency limit in place, against the same drain without limits.
 */
import { JobQueue } from '../../lib/index.ts';
import type { QueueLimits } from '../../lib/index.ts';
import { CapacityMeter } from '../lib/capacity.ts';
import { benchClient, benchTable, BENCH_SHARDS } from '../lib/context.ts';
import type { BenchContext } from '../lib/context.ts';
import { round } from '../lib/stats.ts';
import { perJob } from './cost.ts';
import type { PathCost } from './cost.ts';

/** One feature's cost. */
export interface FeatureCost extends PathCost {
  readonly feature: string;
}

/** Throughput of one drain setting. */
export interface LimitedThroughput {
  readonly setting: string;
  readonly jobs: number;
  readonly workers: number;
  readonly jobsPerSec: number;
  /** Starts refused by a limit (each a conditional write, billed >= 1 write unit), per job. */
  readonly limitedPerJob: number;
  readonly queriesPerJob: number;
}

/** Result of part 4b. */
export interface LimitsResult {
  readonly features: readonly FeatureCost[];
  readonly throughput: readonly LimitedThroughput[];
}

const FEATURES: ReadonlyArray<{ feature: string; group: boolean; limits: QueueLimits }> = [
  { feature: 'plain job', group: false, limits: {} },
  { feature: 'group, no limit', group: true, limits: {} },
  { feature: 'group concurrency 4', group: true, limits: { group: { concurrency: 4 } } },
  { feature: 'queue concurrency 8', group: false, limits: { concurrency: 8 } },
  { feature: 'group rate 400/s', group: true, limits: { group: { rate: { limit: 400, intervalMs: 1_000 } } } },
  { feature: 'queue rate 400/s', group: false, limits: { rate: { limit: 400, intervalMs: 1_000 } } },
];

async function measureFeature(ctx: BenchContext, f: (typeof FEATURES)[number]): Promise<FeatureCost> {
  const client = benchClient(ctx);
  const { tableName, drop } = await benchTable(client, 'cost-limits');
  try {
    const queue = new JobQueue({ tableName, client, shardCount: BENCH_SHARDS, limits: { default: f.limits } });
    const n = ctx.sizes.costJobs;
    const meter = new CapacityMeter().attach(client);
    // Single enqueues, as in part 4; ten groups, each group's limit items written by its jobs.
    for (let i = 0; i < n; i++) await queue.enqueue('noop', { n: i }, f.group ? { group: `g${i % 10}` } : {});
    const report = await queue.processJobs({ noop: () => null }, { concurrency: 16, waitForDueWithinMs: 2_000 });
    return { feature: f.feature, ...perJob(meter.totals(), n, report.completed) };
  } finally {
    await drop();
    client.destroy();
  }
}

/** Drains `jobs` jobs of 20 groups (20 ms each) with `workers` in-process workers under `limits`. */
async function drainThroughput(ctx: BenchContext, setting: string, limits: QueueLimits, jobs: number, workers: number): Promise<LimitedThroughput> {
  const client = benchClient(ctx);
  const { tableName, drop } = await benchTable(client, 'tput-limits');
  try {
    const producer = new JobQueue({ tableName, client, shardCount: BENCH_SHARDS });
    await producer.enqueueMany(Array.from({ length: jobs }, (_, i) => ({ type: 'work', payload: {}, options: { group: `tenant-${i % 20}` } })));
    const started = Date.now();
    const reports = await Promise.all(
      Array.from({ length: workers }, async () => {
        const c = benchClient(ctx);
        try {
          const q = new JobQueue({ tableName, client: c, shardCount: BENCH_SHARDS, limits: { default: limits } });
          return await q.processJobs({ work: () => new Promise((r) => setTimeout(r, 20)) }, { concurrency: 16, waitForDueWithinMs: 2_000 });
        } finally {
          c.destroy();
        }
      }),
    );
    const seconds = (Date.now() - started) / 1000;
    const sum = (k: 'completed' | 'limited' | 'queries') => reports.reduce((s, r) => s + r[k], 0);
    return { setting, jobs, workers, jobsPerSec: round(sum('completed') / seconds, 1), limitedPerJob: round(sum('limited') / jobs, 3), queriesPerJob: round(sum('queries') / jobs, 3) };
  } finally {
    await drop();
    client.destroy();
  }
}

/** Runs part 4b. */
export async function benchLimits(ctx: BenchContext): Promise<LimitsResult> {
  const features: FeatureCost[] = [];
  for (const f of FEATURES) features.push(await measureFeature(ctx, f));
  const jobs = ctx.sizes.costJobs * 2;
  const throughput = [
    await drainThroughput(ctx, 'no limits', {}, jobs, 4),
    await drainThroughput(ctx, 'group concurrency 2 (20 groups)', { group: { concurrency: 2 } }, jobs, 4),
  ];
  for (const f of features) ctx.log(`limits cost: ${f.feature}: ${f.billedWriteUnitsPerJob} WU + ${f.billedReadUnitsPerJob} RU per job`);
  for (const t of throughput) ctx.log(`limits throughput: ${t.setting}: ${t.jobsPerSec} jobs/s`);
  return { features, throughput };
}
