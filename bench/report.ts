/** Renders benchmark results as the Markdown of `docs/performance.md`. Pure. */
import type { BenchResults } from './bench.ts';
import { DEBOUNCE_ENQUEUES_PER_KEY, FIFO_JOBS_PER_GROUP } from './parts/cost.ts';

const f = (n: number, d = 1) => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: 0 }) : 'n/a');

/**
 * What the drain tables' columns come from: the timed drains carry no capacity meter (as the raw
 * bound's updates carry none); the write units come from a second, metered drain of each shape.
 */
const METERED_NOTE =
  'Jobs/s, lost races and index queries are of drains without a capacity meter, as the bound is; write units billed per job ' +
  '(the enqueue, the claim, the completion and every lost race, 1 unit each on AWS) are of a second drain of the same shape with the meter, whose own lost races they include';

/** The lost races per job of the metered drains behind the write-units column. */
function meteredRaces(runs: ReadonlyArray<{ workers: number; concurrency?: number; concurrencyPerWorker?: number; meteredLostRacesPerJob?: number }>): string {
  const each = runs.filter((x) => x.meteredLostRacesPerJob !== undefined).map((x) => `${x.workers} x ${x.concurrency ?? x.concurrencyPerWorker}: ${f(x.meteredLostRacesPerJob!, 4)}`);
  return each.length > 0 ? `(lost races per job there: ${each.join('; ')}).` : '.';
}

/** One drain run per row: throughput, ratio to the bound, contention and cost. */
function drainTable(
  lines: string[],
  runs: ReadonlyArray<{ workers: number; completed: number; jobsPerSec: number; ratioToBound: number; lostRacesPerJob: number; queriesPerJob: number; billedWriteUnitsPerJob: number | null; stale: number }>,
): void {
  lines.push('| workers | completed | jobs/s | ratio to bound | lost claim races / job | index queries / job | write units billed / job | stale outcomes |');
  lines.push('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const x of runs) {
    lines.push(`| ${[x.workers, f(x.completed, 0), f(x.jobsPerSec), f(x.ratioToBound, 3), f(x.lostRacesPerJob, 4), f(x.queriesPerJob, 3), x.billedWriteUnitsPerJob === null ? '-' : f(x.billedWriteUnitsPerJob, 3), x.stale].join(' | ')} |`);
  }
}

/** The results as Markdown tables, with the machine, the versions and the command. */
export function renderMarkdown(r: BenchResults, jsonPath: string): string {
  const e = r.environment;
  const lines: string[] = [];
  const row = (...cells: string[]) => lines.push(`| ${cells.join(' | ')} |`);
  lines.push('# jobtable performance', '');
  lines.push(
    `Measured ${e.date} with \`${e.command}\` (${e.mode} mode, ${r.durationSeconds} s). Raw results: \`${jsonPath}\`.`,
    '',
    `Machine: ${e.cpus} x ${e.cpuModel}, ${e.memoryGiB} GiB RAM, shared with other engineers' builds and tests while this ran, ` +
      'so absolute numbers are noisy; the ratios (measured side by side in the same run) are the figures to compare. ' +
      `Versions: Node ${e.node}, ${e.java}, ${e.dynamoDbLocal}, ${e.awsSdk}. ` +
      'Everything runs against one in-memory DynamoDB Local started by the harness, which has no throughput limits, ' +
      'no partitions and no index lag: it bounds the code path, not AWS.',
    '',
  );
  lines.push('## 1. Raw bound', '');
  row('operation', `rate at concurrency ${r.raw.concurrency}`, 'p50 ms', 'p99 ms');
  row('---', '---:', '---:', '---:');
  row('PutItem (job-shaped item, same index)', `${f(r.raw.putPerSec)}/s`, f(r.raw.putLatencyMs.p50), f(r.raw.putLatencyMs.p99));
  row('conditional UpdateItem (projected attribute)', `${f(r.raw.conditionalUpdatePerSec)}/s`, f(r.raw.updateLatencyMs.p50), f(r.raw.updateLatencyMs.p99));
  lines.push(
    '',
    `Measured ${r.raw.runs.length} times after discarded warm-up runs (of this and of a drain), before and after the enqueue part and after the drains (conditional UpdateItem/s ${r.raw.runs.map((x) => f(x.conditionalUpdatePerSec)).join(', ')}); the fastest run of each operation is the bound.`,
    '',
    '## 2. Enqueue',
    '',
  );
  row('call', 'jobs/s', 'ratio to raw PutItem', 'p50 ms', 'p99 ms');
  row('---', '---:', '---:', '---:', '---:');
  row(`\`enqueue\` (concurrency ${r.enqueue.concurrency})`, f(r.enqueue.enqueuePerSec), f(r.enqueue.enqueueVsRawPut, 3), f(r.enqueue.enqueueLatencyMs.p50), f(r.enqueue.enqueueLatencyMs.p99));
  row(`\`enqueueMany\` (${r.enqueue.batchSize} per call)`, f(r.enqueue.enqueueManyJobsPerSec), f(r.enqueue.enqueueManyVsRawPut, 3), '', '');
  lines.push('', `## 3. End to end: ${f(r.e2e.runs[0]?.jobs ?? 0, 0)} no-op jobs drained by worker processes`, '');
  lines.push(
    `Bound = raw conditional UpdateItem/s / ${r.e2e.conditionalWritesPerJob} conditional writes per job (claim, complete) = ${f(r.e2e.boundJobsPerSec)} jobs/s. ` +
      `Each worker process runs \`processJobs\` with concurrency ${r.e2e.runs[0]?.concurrencyPerWorker ?? ''}.`,
    '',
  );
  drainTable(lines, r.e2e.runs);
  lines.push('', `Most workers vs 1: x${f(r.e2e.scalingMostVsOne, 3)}. ${METERED_NOTE} ${meteredRaces(r.e2e.runs)}`, '');
  lines.push(`## 3a. The same drain in-process: ${f(r.inProcess.runs[0]?.jobs ?? 0, 0)} no-op jobs, workers in the benchmark's own process`, '');
  lines.push(
    `Each worker is a \`processJobs\` call with its own client and concurrency ${r.inProcess.concurrencyPerWorker}, started together; no process start-up or extra Node runtime on the two cores. Same bound as above.`,
    '',
  );
  drainTable(lines, r.inProcess.runs);
  const same = r.inProcess.sameSlots;
  lines.push('', `The same slots shared: ${same.workers} workers x concurrency ${same.concurrency} (as many requests in flight as 1 worker x ${r.inProcess.concurrencyPerWorker}).`, '');
  drainTable(lines, [same]);
  lines.push('', `${METERED_NOTE} ${meteredRaces([...r.inProcess.runs, same])}`);
  lines.push('', 'CPU per job completed, µs, of the timed drains (Node: this process and its workers, no meter; DynamoDB Local: its JVM): ' +
    [...r.inProcess.runs, same].map((x) => `${x.workers} x ${x.concurrency}: ${f(x.nodeCpuUsPerJob, 0)} + ${x.serverCpuUsPerJob === null ? '?' : f(x.serverCpuUsPerJob, 0)}`).join('; ') + '.');
  lines.push('', `With index lag: every index query answered from a snapshot ${r.inProcess.lagged[0]?.indexLagMs ?? 0} ms old (\`bench/lib/index-lag.ts\`); timed only, no metered drain (no write units).`, '');
  drainTable(lines, r.inProcess.lagged);
  lines.push('');
  lines.push('## 4. Cost per job', '');
  row('path', 'write units: table + index (reported)', 'failed conditions', 'write units billed', 'read units: table + index (reported)', 'empty queries', 'read units billed', '$ per million jobs');
  row('---', '---:', '---:', '---:', '---:', '---:', '---:', '---:');
  const paths = [
    ['happy path', r.cost.happy],
    ['one retry', r.cost.retryOnce],
    [`debounce, per enqueue (${DEBOUNCE_ENQUEUES_PER_KEY} enqueues per key and run)`, r.cost.debounce],
    [`FIFO per group, per job (${FIFO_JOBS_PER_GROUP} jobs per group)`, r.cost.fifo],
  ] as const;
  for (const [name, c] of paths) {
    row(
      name,
      `${f(c.writeUnitsPerJob.table, 3)} + ${f(c.writeUnitsPerJob.index, 3)}`,
      f(c.failedConditionsPerJob, 3),
      f(c.billedWriteUnitsPerJob, 3),
      `${f(c.readUnitsPerJob.table, 3)} + ${f(c.readUnitsPerJob.index, 3)}`,
      f(c.emptyQueriesPerJob, 3),
      f(c.billedReadUnitsPerJob, 3),
      `$${f(c.dollarsPerMillionJobs, 3)}`,
    );
  }
  lines.push(
    '',
    `Calls per job, happy path: ${Object.entries(r.cost.happy.callsPerJob).map(([k, v]) => `${k} ${f(v, 3)}`).join(', ')}. ` +
      `One retry: ${Object.entries(r.cost.retryOnce.callsPerJob).map(([k, v]) => `${k} ${f(v, 3)}`).join(', ')}.`,
    '',
    `Lost claim races per job at ${r.e2e.runs[r.e2e.runs.length - 1]?.workers} workers: ${f(r.cost.lostRacesPerJobAtMostWorkers, 4)} (each billed >= 1 write unit on AWS). ` +
      `Prices: $${r.cost.prices.writePerMillion} per million write units, $${r.cost.prices.readPerMillion} per million read units (on demand). ` +
      `SQS for comparison: $${r.cost.prices.sqsPerMillionRequests} per million requests x 3 (send, receive, delete) = $${f(r.cost.sqsDollarsPerMillionJobs, 2)} per million jobs.`,
    '',
  );
  lines.push('## 4b. Flow control: cost per job per feature (one worker), and throughput with a group limit', '');
  row('feature', 'write units billed', 'failed conditions', 'read units billed', 'calls per job');
  row('---', '---:', '---:', '---:', '---');
  for (const c of r.limits.features) {
    row(c.feature, f(c.billedWriteUnitsPerJob, 3), f(c.failedConditionsPerJob, 3), f(c.billedReadUnitsPerJob, 3), Object.entries(c.callsPerJob).map(([k, v]) => `${k} ${f(v, 2)}`).join(', '));
  }
  lines.push('');
  row('drain (in-process workers x 16, 20 ms jobs, 20 groups)', 'jobs', 'jobs/s', 'starts refused per job', 'queries per job');
  row('---', '---:', '---:', '---:', '---:');
  for (const t of r.limits.throughput) row(`${t.setting}, ${t.workers} workers`, String(t.jobs), f(t.jobsPerSec, 1), f(t.limitedPerJob, 3), f(t.queriesPerJob, 3));
  lines.push('');
  lines.push('## 5. Pickup latency (idle in-process `Worker`, woken by `onEnqueued`)', '');
  row('jobs', 'count', 'p50 ms', 'p99 ms', 'max ms');
  row('---', '---:', '---:', '---:', '---:');
  row('due: enqueue call to handler start', String(r.pickup.dueMs.count), f(r.pickup.dueMs.p50), f(r.pickup.dueMs.p99), f(r.pickup.dueMs.max));
  row('delayed (200-2,000 ms): runAt to handler start', String(r.pickup.delayedMs.count), f(r.pickup.delayedMs.p50), f(r.pickup.delayedMs.p99), f(r.pickup.delayedMs.max));
  lines.push('', `Idle worker (poll interval ${r.pickup.pollIntervalMs === null ? 'the `Worker` default' : `${f(r.pickup.pollIntervalMs, 0)} ms`}): ${f(r.pickup.idleCallsPerSec, 2)} DynamoDB calls/s, watched for ${f(r.pickup.idleWatchMs / 1000, 1)} s.`, '');
  lines.push('## 6. Backlog scaling', '');
  row('pending jobs', 'fill time s', 'claims/s (1 worker, concurrency 16)', 'enqueue p50 ms', 'enqueue p99 ms');
  row('---:', '---:', '---:', '---:', '---:');
  for (const b of [r.backlog.small, r.backlog.large]) row(f(b.pending, 0), f(b.fillSeconds), f(b.claimsPerSec), f(b.enqueueLatencyMs.p50), f(b.enqueueLatencyMs.p99));
  lines.push('', `Large vs small: claims x${f(r.backlog.claimRatio, 3)}, enqueue p50 x${f(r.backlog.enqueueP50Ratio, 3)}.`, '');
  lines.push('## Targets', '');
  row('target', 'wanted', 'measured', 'met');
  row('---', '---', '---:', '---');
  for (const [name, t] of Object.entries(r.targets)) row(name, t.target, t.measured, t.met ? 'yes' : '**no**');
  lines.push('');
  return lines.join('\n');
}
