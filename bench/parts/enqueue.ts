/** Part 2, enqueue: `enqueue` at concurrency 16 and `enqueueMany`, as ratios to raw PutItem. */
import { JobQueue } from '../../lib/index.ts';
import { benchClient, benchTable, BENCH_SHARDS, CALLER_CONCURRENCY } from '../lib/context.ts';
import type { BenchContext } from '../lib/context.ts';
import { latencySummary, round, runConcurrent } from '../lib/stats.ts';
import type { LatencySummary } from '../lib/stats.ts';

/** Result of part 2. */
export interface EnqueueResult {
  readonly concurrency: number;
  readonly jobs: number;
  readonly enqueuePerSec: number;
  readonly enqueueLatencyMs: LatencySummary;
  /** Jobs per `enqueueMany` call. */
  readonly batchSize: number;
  readonly enqueueManyJobsPerSec: number;
  readonly enqueueVsRawPut: number;
  readonly enqueueManyVsRawPut: number;
}

/** Measures single and batched enqueue throughput on a fresh table. */
export async function benchEnqueue(ctx: BenchContext, rawPutPerSec: number): Promise<EnqueueResult> {
  const client = benchClient(ctx);
  const { tableName, drop } = await benchTable(client, 'enqueue');
  try {
    const queue = new JobQueue({ tableName, client, shardCount: BENCH_SHARDS });
    const n = ctx.sizes.rawOps;
    await runConcurrent(Math.min(50, n), CALLER_CONCURRENCY, () => queue.enqueue('noop', { warm: true }));
    const single = await runConcurrent(n, CALLER_CONCURRENCY, (i) => queue.enqueue('noop', { n: i }));
    const batchSize = Math.min(1_000, n);
    const batches = Math.ceil(n / batchSize);
    const many = await runConcurrent(batches, 1, () => queue.enqueueMany(Array.from({ length: batchSize }, (_, i) => ({ type: 'noop', payload: { n: i } }))));
    const enqueuePerSec = (n / single.wallMs) * 1000;
    const manyPerSec = ((batches * batchSize) / many.wallMs) * 1000;
    const result: EnqueueResult = {
      concurrency: CALLER_CONCURRENCY,
      jobs: n,
      enqueuePerSec: round(enqueuePerSec, 1),
      enqueueLatencyMs: latencySummary(single.latencies),
      batchSize,
      enqueueManyJobsPerSec: round(manyPerSec, 1),
      enqueueVsRawPut: round(enqueuePerSec / rawPutPerSec, 3),
      enqueueManyVsRawPut: round(manyPerSec / rawPutPerSec, 3),
    };
    ctx.log(`enqueue: ${result.enqueuePerSec}/s (x${result.enqueueVsRawPut} raw), enqueueMany ${result.enqueueManyJobsPerSec}/s`);
    return result;
  } finally {
    await drop();
    client.destroy();
  }
}
