/**
 * Part 6, backlog scaling: claim throughput and single-enqueue latency on a queue holding a small
 * and a large backlog of pending jobs (1,000 vs 100,000 in the full run).
 */
import { JobQueue } from '../../lib/index.ts';
import { benchClient, benchTable, BENCH_SHARDS, CALLER_CONCURRENCY } from '../lib/context.ts';
import type { BenchContext } from '../lib/context.ts';
import { latencySummary, round, runConcurrent } from '../lib/stats.ts';
import type { LatencySummary } from '../lib/stats.ts';

/** One backlog size. */
export interface BacklogRun {
  readonly pending: number;
  /** Seconds it took to fill the backlog with `enqueueMany`. */
  readonly fillSeconds: number;
  readonly claims: number;
  /** Jobs claimed and completed per second by one in-process worker (concurrency 16). */
  readonly claimsPerSec: number;
  readonly enqueueLatencyMs: LatencySummary;
}

/** Result of part 6. */
export interface BacklogResult {
  readonly small: BacklogRun;
  readonly large: BacklogRun;
  /** large / small claim throughput (1 = no slowdown). */
  readonly claimRatio: number;
  /** large / small p50 enqueue latency (1 = no slowdown). */
  readonly enqueueP50Ratio: number;
}

async function measure(ctx: BenchContext, pending: number): Promise<BacklogRun> {
  const client = benchClient(ctx);
  const { tableName, drop } = await benchTable(client, `backlog${pending}`);
  try {
    const queue = new JobQueue({ tableName, client, shardCount: BENCH_SHARDS });
    const t0 = Date.now();
    const chunks = Array.from({ length: Math.ceil(pending / 5_000) }, (_, c) => Math.min(5_000, pending - c * 5_000));
    await runConcurrent(chunks.length, 4, (c) => queue.enqueueMany(Array.from({ length: chunks[c]! }, (_, i) => ({ type: 'noop', payload: { c, i } }))));
    const fillSeconds = round((Date.now() - t0) / 1000, 1);
    const claims = Math.min(ctx.sizes.backlogClaims, pending);
    const report = await queue.processJobs({ noop: () => null }, { concurrency: 16, maxJobs: claims });
    const claimsPerSec = (report.completed / report.durationMs) * 1000;
    const n = Math.min(ctx.sizes.rawOps, 500);
    const enq = await runConcurrent(n, CALLER_CONCURRENCY, (i) => queue.enqueue('noop', { extra: i }));
    const run: BacklogRun = { pending, fillSeconds, claims: report.completed, claimsPerSec: round(claimsPerSec, 1), enqueueLatencyMs: latencySummary(enq.latencies) };
    ctx.log(`backlog ${pending}: filled in ${fillSeconds}s, ${run.claimsPerSec} claims/s, enqueue p50 ${run.enqueueLatencyMs.p50} ms`);
    return run;
  } finally {
    await drop();
    client.destroy();
  }
}

/** Runs part 6. */
export async function benchBacklog(ctx: BenchContext): Promise<BacklogResult> {
  const small = await measure(ctx, ctx.sizes.backlogs[0]);
  const large = await measure(ctx, ctx.sizes.backlogs[1]);
  return {
    small,
    large,
    claimRatio: round(large.claimsPerSec / small.claimsPerSec, 3),
    enqueueP50Ratio: round(large.enqueueLatencyMs.p50 / small.enqueueLatencyMs.p50, 3),
  };
}
