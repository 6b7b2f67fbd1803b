/**
 * Part 3, end to end: no-op jobs drained by 1, 4 and 8 worker processes. Jobs are enqueued
 * first; the clock runs from the moment all workers are told to go until the last one returns.
 * Also yields the lost claim races per job (part 4) from the workers' own counts.
 *
 * As in part 3a, the timed drain is unmetered (as the raw bound is) and the write units come from
 * a metered drain of the same shape after it. Each process first drains {@link WARM_UP_JOBS} jobs
 * of a queue of its own before it reports ready, so the clock does not time V8 compiling the SDK
 * and the drain in a fresh process (a warm Lambda worker has done that on its first invocation).
 */
import { JobQueue } from '../../lib/index.ts';
import { benchClient, benchTable, BENCH_SHARDS, enqueueNoops } from '../lib/context.ts';
import type { BenchContext } from '../lib/context.ts';
import { CapacityMeter, mergeSnapshots, sumCosts } from '../lib/capacity.ts';
import type { CostTotals } from '../lib/capacity.ts';
import { spawnWorker } from '../lib/spawn-worker.ts';
import { round } from '../lib/stats.ts';

/** Conditional writes one job needs while being drained: its claim and its completion. */
export const CONDITIONAL_WRITES_PER_JOB = 2;

/** One worker count's run. */
export interface E2eRun {
  readonly workers: number;
  readonly concurrencyPerWorker: number;
  readonly jobs: number;
  readonly completed: number;
  readonly jobsPerSec: number;
  /** jobs/s divided by (raw conditional UpdateItem/s / conditional writes per job). */
  readonly ratioToBound: number;
  readonly lostRacesPerJob: number;
  readonly queriesPerJob: number;
  /**
   * Write units per job as AWS bills them: the enqueue, the claim, the completion and every lost
   * race, from a metered drain of the same shape (null: this drain was not metered).
   */
  readonly billedWriteUnitsPerJob: number | null;
  /** Lost races per job of the metered drain (each in its write units). */
  readonly meteredLostRacesPerJob?: number;
  readonly stale: number;
  /** What the worker processes spent in the metered drain (the enqueue is in `billedWriteUnitsPerJob` only; null: not metered). */
  readonly cost: CostTotals | null;
}

/** Result of part 3. */
export interface E2eResult {
  readonly conditionalWritesPerJob: number;
  /** raw conditional UpdateItem/s divided by the conditional writes per job. */
  readonly boundJobsPerSec: number;
  readonly runs: E2eRun[];
  /** jobs/s at the most workers divided by jobs/s at 1 worker. */
  readonly scalingMostVsOne: number;
}

/** Concurrency of each worker process. */
export const E2E_WORKER_CONCURRENCY = 16;

/** Jobs each worker process drains from a queue of its own before the timed drain (see the file's comment). */
export const WARM_UP_JOBS = 1_000;

/** Drains `jobs` no-op jobs with `workers` processes on a fresh table (metered: every request's capacity counted, slower). */
export async function drainWithProcesses(ctx: BenchContext, workers: number, jobs: number, bound: number, metered: boolean): Promise<E2eRun> {
  const client = benchClient(ctx);
  const { tableName, drop } = await benchTable(client, `e2e${workers}`);
  const producerMeter = new CapacityMeter();
  if (metered) producerMeter.attach(client);
  try {
    const queue = new JobQueue({ tableName, client, shardCount: BENCH_SHARDS });
    await enqueueNoops(queue, jobs);
    const procs = Array.from({ length: workers }, () =>
      spawnWorker({
        endpoint: ctx.endpoint,
        tableName,
        shardCount: BENCH_SHARDS,
        mode: 'drain',
        concurrency: E2E_WORKER_CONCURRENCY,
        waitForGo: true,
        metered,
        warmUpJobs: ctx.quick ? 20 : WARM_UP_JOBS,
      }),
    );
    await Promise.all(procs.map((p) => p.ready));
    const go = Date.now();
    for (const p of procs) p.go();
    const results = await Promise.all(procs.map((p) => p.result));
    if (results.some((r) => r === null)) throw new Error('a worker process died without a report');
    const rs = results.map((r) => r!);
    const end = Math.max(...rs.map((r) => r.endedAt));
    const completed = rs.reduce((s, r) => s + r.report.completed, 0);
    const lost = rs.reduce((s, r) => s + r.report.lostRaces, 0);
    const queries = rs.reduce((s, r) => s + r.report.queries, 0);
    const jobsPerSec = (completed / (end - go)) * 1000;
    const cost = metered ? sumCosts(mergeSnapshots(rs.map((r) => r.cost))) : null;
    const run: E2eRun = {
      workers,
      concurrencyPerWorker: E2E_WORKER_CONCURRENCY,
      jobs,
      completed,
      jobsPerSec: round(jobsPerSec, 1),
      ratioToBound: round(jobsPerSec / bound, 3),
      lostRacesPerJob: round(lost / Math.max(1, completed), 4),
      queriesPerJob: round(queries / Math.max(1, completed), 3),
      billedWriteUnitsPerJob: cost ? round((producerMeter.totals().billedWriteUnits + cost.billedWriteUnits) / jobs, 3) : null,
      stale: rs.reduce((s, r) => s + r.report.stale, 0),
      cost,
    };
    ctx.log(
      `e2e ${workers} worker processes${metered ? ' (metered)' : ''}: ${run.completed}/${jobs} jobs, ${run.jobsPerSec} jobs/s (x${run.ratioToBound} of bound), ` +
        `${run.lostRacesPerJob} lost races/job, ${run.queriesPerJob} queries/job, ${run.billedWriteUnitsPerJob ?? '-'} WRU/job`,
    );
    return run;
  } finally {
    await drop();
    client.destroy();
  }
}

/** Runs part 3 for every worker count of the mode. */
export async function benchE2e(ctx: BenchContext, rawUpdatePerSec: number): Promise<E2eResult> {
  const bound = rawUpdatePerSec / CONDITIONAL_WRITES_PER_JOB;
  const runs: E2eRun[] = [];
  for (const w of ctx.sizes.e2eWorkers) {
    const timed = await drainWithProcesses(ctx, w, ctx.sizes.e2eJobs, bound, false);
    const metered = await drainWithProcesses(ctx, w, ctx.sizes.e2eJobs, bound, true);
    runs.push({ ...timed, billedWriteUnitsPerJob: metered.billedWriteUnitsPerJob, meteredLostRacesPerJob: metered.lostRacesPerJob, cost: metered.cost });
  }
  const one = runs.find((r) => r.workers === 1) ?? runs[0]!;
  const most = runs[runs.length - 1]!;
  return { conditionalWritesPerJob: CONDITIONAL_WRITES_PER_JOB, boundJobsPerSec: round(bound, 1), runs, scalingMostVsOne: round(most.jobsPerSec / one.jobsPerSec, 3) };
}
