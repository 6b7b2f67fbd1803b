/**
 * What the operator's dashboard costs in read units, measured with ReturnConsumedCapacity on
 * DynamoDB Local: one refresh (counts of a queue, the open job, a list page) on an empty queue and
 * on a queue with a backlog, the queue discovery, a page of each list, a search, and (for
 * comparison) the exact `stats()` that scans the table. Empty queries report 0 on DynamoDB Local;
 * AWS bills each at least 0.5, so the "billed" column adds that.
 *
 * Run: `npx tsx bench/dashboard-cost.ts [waiting] [delayed] [failed] [completed]`
 * (default 3000 1000 500 3000); writes bench/results/dashboard-cost.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createJobsTable, JobQueue, PermanentJobError } from '../lib/index.ts';
import { localClient, startDynamoDbLocal } from '../lib/local/dynamodb-local.ts';
import { findJobs, listFiltered } from '../lib/local/operator-api.ts';
import { discoverQueues } from '../lib/store/discover-queues.ts';
import { countQueue } from '../lib/store/queue-counts.ts';
import { CapacityMeter } from './lib/capacity.ts';

const [waiting, delayed, failed, completed] = process.argv.slice(2, 6).map(Number);
const sizes = { waiting: waiting || 3_000, delayed: delayed || 1_000, failed: failed || 500, completed: completed || 3_000 };

/** Enqueues `n` jobs in chunks of 500 (enqueueMany's limit is 1,000). */
async function fill(queue: JobQueue, n: number, type: string, options: Record<string, unknown> = {}): Promise<void> {
  for (let i = 0; i < n; i += 500) await queue.enqueueMany(Array.from({ length: Math.min(500, n - i) }, (_, j) => ({ type, payload: { i: i + j }, options })));
}

const ddb = await startDynamoDbLocal();
const rows: { what: string; calls: number; reported: number; billed: number }[] = [];
try {
  const client = localClient(ddb.endpoint);
  const meter = new CapacityMeter().attach(client);
  await createJobsTable(client, 'dashboard-cost');
  const queue = new JobQueue({ tableName: 'dashboard-cost', client });
  console.log(`seeding ${JSON.stringify(sizes)} in queue "big", nothing in "empty"...`);
  await fill(queue, sizes.completed, 'ok');
  await fill(queue, sizes.failed, 'bad', { maxAttempts: 1 });
  await queue.processJobs({ ok: () => null, bad: () => { throw new PermanentJobError('x'); } }, { concurrency: 32 });
  await fill(queue, sizes.completed, 'ok', { queue: 'big' });
  await fill(queue, sizes.failed, 'bad', { queue: 'big', maxAttempts: 1 });
  await queue.processJobs({ ok: () => null, bad: () => { throw new PermanentJobError('x'); } }, { queue: 'big', concurrency: 32 });
  await fill(queue, sizes.waiting, 'noop', { queue: 'big' });
  await fill(queue, sizes.delayed, 'noop', { queue: 'big', delayMs: 3_600_000 });
  const someId = (await queue.listJobs({ status: 'pending', queue: 'big', limit: 1 })).jobs[0]!.id;

  const measure = async (what: string, fn: () => Promise<unknown>) => {
    meter.reset();
    await fn();
    const t = meter.totals();
    rows.push({ what, calls: t.totalCalls, reported: t.readUnits.table + t.readUnits.index, billed: t.billedReadUnits });
  };
  await measure('counts of an empty queue (GET /queues, one queue)', () => countQueue(queue.store, 'empty'));
  await measure(`counts of a queue with ${sizes.waiting + sizes.delayed} pending, ${sizes.failed} failed`, () => countQueue(queue.store, 'big'));
  await measure('open job (GetItem, consistent)', () => queue.getJob(someId));
  await measure('a page of 20 pending jobs', () => queue.listJobs({ status: 'pending', queue: 'big', limit: 20 }));
  await measure('a page of 20 failed jobs', () => queue.listJobs({ status: 'failed', queue: 'big', limit: 20 }));
  await measure('a page of 20 pending jobs of a type that is not there (5 rounds)', () => listFiltered(queue, { status: 'pending', queue: 'big', limit: 20, type: 'nothing' }));
  await measure('search by id or idempotency key (2 GetItem)', () => findJobs(queue, someId, 'big'));
  await measure(`queue discovery (index scan; ${sizes.waiting + sizes.delayed + 2 * sizes.failed} entries)`, () => discoverQueues(queue.store));
  await measure(`a page of 20 completed jobs (table scan; ${2 * sizes.completed} completed)`, () => queue.listJobs({ status: 'completed', queue: 'big', limit: 20 }));
  await measure('exact stats() of the queue, for comparison (scans the table)', () => queue.stats({ queue: 'big' }));
  client.destroy();
} finally {
  await ddb.stop();
}

const table = ['| what | calls | read units (DynamoDB Local) | billed on AWS (≥ 0.5 per empty query) |', '| --- | --- | --- | --- |', ...rows.map((r) => `| ${r.what} | ${r.calls} | ${r.reported} | ${r.billed} |`)].join('\n');
console.log(table);
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/dashboard-cost.json', `${JSON.stringify({ at: new Date().toISOString(), sizes, rows }, null, 2)}\n`);
