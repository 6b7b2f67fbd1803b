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
  ctx.log(`cost: happy ${happy.billedWriteUnitsPerJob} WRU + ${happy.billedReadUnitsPerJob} RRU per job ($${happy.dollarsPerMillionJobs}/M); one retry ${retryOnce.billedWriteUnitsPerJob} WRU`);
  return { happy, retryOnce, prices: PRICES, sqsDollarsPerMillionJobs: round(3 * PRICES.sqsPerMillionRequests, 3) };
}
