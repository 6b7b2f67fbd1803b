/**
 * Part 3a, the drain in-process: no-op jobs enqueued first, then drained by 1, 4 and 8 workers
 * running `processJobs` in this process (each with its own client), so the figure is the drain's
 * own, without process start-up or a second Node runtime competing for the two cores. The same
 * drain again with the index answering from a snapshot 300 ms old (`IndexLag`), to show that
 * lag does not make workers race each other (or themselves) more.
 *
 * Billed write units per job count everything the job cost: the enqueue, the claim, the
 * completion, and every lost race (AWS bills at least 1 write unit for a failed condition).
 *
 * The timed drains carry no meter, as the raw bound's updates carry none: metering asks for
 * `ReturnConsumedCapacity` on every request, which cost DynamoDB Local about 150 µs of CPU and
 * Node about 50 µs per request (`bench/op-probe.ts`: a metered bare update ran at 0.77 of an
 * unmetered one), so a metered drain was slowed against an unmetered bound. The write units come
 * from a second, metered drain of the same shape right after (its own lost races included).
 */
import { JobQueue } from '../../lib/index.ts';
import type { ProcessReport } from '../../lib/index.ts';
import { CapacityMeter } from '../lib/capacity.ts';
import { benchClient, benchTable, BENCH_SHARDS, processCpuMicros, enqueueNoops } from '../lib/context.ts';
import type { BenchContext } from '../lib/context.ts';
import { IndexLag } from '../lib/index-lag.ts';
import { round } from '../lib/stats.ts';

/** Concurrency of each in-process worker. */
export const INPROCESS_CONCURRENCY = 16;
/** How old the lagging index's picture is. */
export const INDEX_LAG_MS = 300;

/** One worker count's in-process drain. */
export interface InProcessRun {
  readonly workers: number;
  /** Concurrency of each worker. */
  readonly concurrency: number;
  readonly jobs: number;
  readonly completed: number;
  /** Index lag simulated, ms (0: none). */
  readonly indexLagMs: number;
  readonly jobsPerSec: number;
  readonly ratioToBound: number;
  readonly lostRaces: number;
  readonly lostRacesPerJob: number;
  readonly queriesPerJob: number;
  /**
   * Write units per job as AWS bills them: enqueue, claim, completion and lost races, from a
   * metered drain of the same shape (null: none was run).
   */
  readonly billedWriteUnitsPerJob: number | null;
  /** Lost races per job of that metered drain (each in its write units). */
  readonly meteredLostRacesPerJob?: number;
  readonly stale: number;
  /** CPU time of this process (the workers, and the meters) per job completed, µs. */
  readonly nodeCpuUsPerJob: number;
  /** CPU time of DynamoDB Local's JVM per job completed, µs (null if its process is unknown). */
  readonly serverCpuUsPerJob: number | null;
}

/** Result of part 3a. */
export interface InProcessResult {
  readonly concurrencyPerWorker: number;
  readonly runs: InProcessRun[];
  /** The same worker counts under index lag. */
  readonly lagged: InProcessRun[];
  /**
   * Several workers sharing the 1-worker run's slots (4 x concurrency 4 = 1 x 16; quick: 2 x 8):
   * as many requests in flight as 1 worker, so a gap to it is the sharing, not the load.
   */
  readonly sameSlots: InProcessRun;
}

/** How one in-process drain is run. */
export interface DrainShape {
  /** Index lag simulated, ms. @default 0 */
  readonly indexLagMs?: number;
  /** Concurrency of each worker. @default INPROCESS_CONCURRENCY */
  readonly concurrency?: number;
  /** Meter every request (for the write units; slows the drain). @default false */
  readonly metered?: boolean;
}

/** Drains `jobs` no-op jobs with `workers` in-process workers on a fresh table. */
export async function drainInProcess(ctx: BenchContext, workers: number, jobs: number, bound: number, shape: DrainShape = {}): Promise<InProcessRun> {
  const { indexLagMs = 0, concurrency = INPROCESS_CONCURRENCY, metered = false } = shape;
  const producerClient = benchClient(ctx);
  const { tableName, drop } = await benchTable(producerClient, `inproc${workers}`);
  const clients = Array.from({ length: workers }, () => benchClient(ctx));
  const meter = new CapacityMeter();
  const lag = indexLagMs > 0 ? new IndexLag(indexLagMs) : undefined;
  for (const c of [producerClient, ...clients]) {
    if (metered) meter.attach(c);
    lag?.attach(c);
  }
  try {
    const producer = new JobQueue({ tableName, client: producerClient, shardCount: BENCH_SHARDS });
    await enqueueNoops(producer, jobs);
    if (lag) await new Promise((r) => setTimeout(r, indexLagMs + 50)); // the lagging index shows them all
    const cpuBefore = process.cpuUsage();
    const serverBefore = processCpuMicros(ctx.serverPid);
    const go = Date.now();
    const reports: ProcessReport[] = await Promise.all(
      clients.map((client, w) =>
        new JobQueue({ tableName, client, shardCount: BENCH_SHARDS }).processJobs({ noop: () => null }, { concurrency, workerId: `inproc-${w}-${go}` }),
      ),
    );
    const wallMs = Date.now() - go;
    const cpu = process.cpuUsage(cpuBefore);
    const serverAfter = processCpuMicros(ctx.serverPid);
    const sum = (k: keyof ProcessReport) => reports.reduce((s, r) => s + (r[k] as number), 0);
    const completed = sum('completed');
    const jobsPerSec = (completed / wallMs) * 1000;
    const run: InProcessRun = {
      workers,
      concurrency,
      jobs,
      completed,
      indexLagMs,
      jobsPerSec: round(jobsPerSec, 1),
      ratioToBound: round(jobsPerSec / bound, 3),
      lostRaces: sum('lostRaces'),
      lostRacesPerJob: round(sum('lostRaces') / Math.max(1, completed), 4),
      queriesPerJob: round(sum('queries') / Math.max(1, completed), 3),
      billedWriteUnitsPerJob: metered ? round(meter.totals().billedWriteUnits / jobs, 3) : null,
      stale: sum('stale'),
      nodeCpuUsPerJob: Math.round((cpu.user + cpu.system) / Math.max(1, completed)),
      serverCpuUsPerJob: serverBefore !== null && serverAfter !== null ? Math.round((serverAfter - serverBefore) / Math.max(1, completed)) : null,
    };
    ctx.log(
      `in-process ${workers} workers x ${concurrency}${indexLagMs ? ` (index lag ${indexLagMs} ms)` : ''}${metered ? ' (metered)' : ''}: ${completed}/${jobs} jobs, ${run.jobsPerSec} jobs/s (x${run.ratioToBound} of bound), ` +
        `${run.lostRacesPerJob} lost races/job, ${run.queriesPerJob} queries/job, ${run.billedWriteUnitsPerJob ?? '-'} WRU/job, CPU µs/job ${run.nodeCpuUsPerJob} (Node) + ${run.serverCpuUsPerJob ?? '?'} (DynamoDB Local)`,
    );
    return run;
  } finally {
    await drop();
    for (const c of [producerClient, ...clients]) c.destroy();
  }
}

/** A timed (unmetered) drain of a shape, with the write units of a metered drain of the same shape after it. */
async function timedAndMetered(ctx: BenchContext, workers: number, bound: number, shape: DrainShape = {}): Promise<InProcessRun> {
  const timed = await drainInProcess(ctx, workers, ctx.sizes.e2eJobs, bound, shape);
  const metered = await drainInProcess(ctx, workers, ctx.sizes.e2eJobs, bound, { ...shape, metered: true });
  return { ...timed, billedWriteUnitsPerJob: metered.billedWriteUnitsPerJob, meteredLostRacesPerJob: metered.lostRacesPerJob };
}

/** Runs part 3a: every worker count, without lag and then with it (the lagged drains only timed). */
export async function benchInProcess(ctx: BenchContext, rawUpdatePerSec: number): Promise<InProcessResult> {
  const bound = rawUpdatePerSec / 2;
  const runs: InProcessRun[] = [];
  for (const w of ctx.sizes.e2eWorkers) runs.push(await timedAndMetered(ctx, w, bound));
  const lagged: InProcessRun[] = [];
  for (const w of ctx.sizes.e2eWorkers) lagged.push(await drainInProcess(ctx, w, ctx.sizes.e2eJobs, bound, { indexLagMs: INDEX_LAG_MS }));
  const sharers = ctx.quick ? 2 : 4;
  const sameSlots = await timedAndMetered(ctx, sharers, bound, { concurrency: INPROCESS_CONCURRENCY / sharers });
  return { concurrencyPerWorker: INPROCESS_CONCURRENCY, runs, lagged, sameSlots };
}
