/**
 * What a bulk redrive costs in read and write units, measured with ReturnConsumedCapacity on
 * DynamoDB Local (see bench/lib/capacity.ts): a redrive of every dead letter of a queue, one that
 * a type filter narrows to half of them, and the dry runs of both. Also what a recorded trace
 * context adds to an enqueue. Empty queries report 0 on DynamoDB Local; AWS bills each at least
 * 0.5 read units, and a refused conditional write at least 1 write unit, so "billed" adds those.
 *
 * Run: `npx tsx bench/redrive-cost.ts [dead letters]` (default 2000); writes
 * bench/results/redrive-cost.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createJobsTable, JobQueue, PermanentJobError } from '../lib/index.ts';
import type { RedriveFilter, RedriveOptions, RedriveProgress } from '../lib/index.ts';
import { localClient, startDynamoDbLocal } from '../lib/local/dynamodb-local.ts';
import { CapacityMeter } from './lib/capacity.ts';

const n = Number(process.argv[2]) || 2_000;

/** Enqueues `count` jobs that fail for good, half of type `a`, half of type `b`, and runs them. */
async function seedDeadLetters(queue: JobQueue, name: string, count: number): Promise<void> {
  for (let i = 0; i < count; i += 500) {
    await queue.enqueueMany(Array.from({ length: Math.min(500, count - i) }, (_, j) => ({ type: (i + j) % 2 ? 'b' : 'a', payload: { i: i + j }, options: { queue: name, maxAttempts: 1 } })));
  }
  const fail = () => {
    throw new PermanentJobError('upstream 503');
  };
  await queue.processJobs({ a: fail, b: fail }, { queue: name, concurrency: 32 });
}

const ddb = await startDynamoDbLocal();
const rows: { what: string; jobs: number; calls: number; readUnits: number; writeUnits: number; billedRead: number; billedWrite: number; readPerJob: number; writePerJob: number }[] = [];
try {
  const client = localClient(ddb.endpoint);
  const meter = new CapacityMeter().attach(client);
  await createJobsTable(client, 'redrive-cost');
  const queue = new JobQueue({ tableName: 'redrive-cost', client });
  console.log(`seeding ${n} dead letters in each of queues "all" and "half"...`);
  await seedDeadLetters(queue, 'all', n);
  await seedDeadLetters(queue, 'half', n);

  const measure = async (what: string, filter: RedriveFilter, options: RedriveOptions = {}): Promise<RedriveProgress> => {
    meter.reset();
    const r = await queue.redrive(filter, options);
    const t = meter.totals();
    const readUnits = t.readUnits.table + t.readUnits.index;
    const writeUnits = t.writeUnits.table + t.writeUnits.index;
    const jobs = r.dryRun ? r.examined : r.redriven || r.examined;
    rows.push({ what, jobs, calls: t.totalCalls, readUnits, writeUnits, billedRead: t.billedReadUnits, billedWrite: t.billedWriteUnits, readPerJob: +(t.billedReadUnits / jobs).toFixed(3), writePerJob: +(t.billedWriteUnits / jobs).toFixed(3) });
    return r;
  };
  await measure(`dry run, queue only (index only), ${n} dead letters`, { queue: 'all' }, { dryRun: true });
  await measure(`dry run, type filter (reads every item), ${n} dead letters`, { queue: 'half', type: 'a' }, { dryRun: true });
  await measure(`redrive all ${n} dead letters of a queue`, { queue: 'all' });
  await measure(`redrive by type: ${n / 2} of ${n} match (per job put back)`, { queue: 'half', type: 'a' });

  meter.reset();
  await queue.enqueue('a', { small: true }, { queue: 'enqueue-cost' });
  const plain = meter.totals().billedWriteUnits;
  meter.reset();
  await queue.enqueue('a', { small: true }, { queue: 'enqueue-cost', trace: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', tracestate: 'vendor=abc' } });
  const traced = meter.totals().billedWriteUnits;
  rows.push({ what: 'enqueue of a small job, without / with a recorded trace context (write units)', jobs: 1, calls: 1, readUnits: 0, writeUnits: traced, billedRead: 0, billedWrite: traced, readPerJob: 0, writePerJob: traced });
  console.log(`enqueue write units: ${plain} without a trace context, ${traced} with one`);
  client.destroy();
} finally {
  await ddb.stop();
}

const table = [
  '| what | jobs | calls | read units (billed) | write units (billed) | read units per job | write units per job |',
  '| --- | --- | --- | --- | --- | --- | --- |',
  ...rows.map((r) => `| ${r.what} | ${r.jobs} | ${r.calls} | ${r.readUnits} (${r.billedRead}) | ${r.writeUnits} (${r.billedWrite}) | ${r.readPerJob} | ${r.writePerJob} |`),
].join('\n');
console.log(table);
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/redrive-cost.json', `${JSON.stringify({ at: new Date().toISOString(), deadLetters: n, rows }, null, 2)}\n`);
