/**
 * What dependencies and fan-in cost in read and write units, measured with ReturnConsumedCapacity
 * on DynamoDB Local (bench/lib/capacity.ts): a parent with N children (enqueue, the children's
 * runs, the parent's run with its N results, a cancel), the same N plain jobs for comparison, and
 * a job enqueued with `dependsOn`. "Billed" adds what AWS charges and DynamoDB Local does not
 * report: 1 write unit per refused conditional write, 0.5 read units per empty query.
 * Cancelled transactions are counted apart (AWS bills their items' write units too).
 *
 * Run: `npx tsx bench/fan-in-cost.ts [children...]` (default 200 1000); writes
 * bench/results/fan-in-cost.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createJobsTable, JobQueue } from '../lib/index.ts';
import { localClient, startDynamoDbLocal } from '../lib/local/dynamodb-local.ts';
import { CapacityMeter } from './lib/capacity.ts';

const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
const counts = sizes.length ? sizes : [200, 1_000];

interface Row {
  what: string;
  jobs: number;
  readUnits: number;
  writeUnits: number;
  cancelledTransactions: number;
  readPerJob: number;
  writePerJob: number;
}

const rows: Row[] = [];
const ddb = await startDynamoDbLocal();
try {
  const client = localClient(ddb.endpoint);
  const meter = new CapacityMeter().attach(client);
  await createJobsTable(client, 'fan-in-cost');
  const queue = new JobQueue({ tableName: 'fan-in-cost', client });
  const measure = async (what: string, jobs: number, fn: () => Promise<unknown>) => {
    meter.reset();
    await fn();
    const t = meter.totals();
    const cancelled = meter.byCommand.get('TransactWriteItemsCommand')?.errors ?? 0;
    rows.push({ what, jobs, readUnits: t.billedReadUnits, writeUnits: t.billedWriteUnits, cancelledTransactions: cancelled, readPerJob: +(t.billedReadUnits / jobs).toFixed(3), writePerJob: +(t.billedWriteUnits / jobs).toFixed(3) });
  };
  const drainAll = async (q: string, handlers: Parameters<JobQueue['processJobs']>[0]) => {
    for (let i = 0; i < 10 && (await queue.processJobs(handlers, { queue: q, concurrency: 16 })).claimed > 0; i++);
  };
  for (const n of counts) {
    const q = `fan-${n}`;
    const children = Array.from({ length: n }, (_, i) => ({ type: 'page', payload: { i } }));
    // The children in a queue of their own, so that their runs and the parent's are measured apart.
    const inChildQueue = children.map((c) => ({ ...c, options: { queue: `${q}-children` } }));
    let parentId = '';
    await measure(`enqueueParent with ${n} children (per child)`, n, async () => {
      parentId = (await queue.enqueueParent('merge', { n }, inChildQueue, { queue: q, idempotencyKey: q })).id;
    });
    await measure(`run the ${n} children: claim + completion counted in the parent (per child; sweeps included)`, n, () => drainAll(`${q}-children`, { page: (p: { i: number }) => p.i }));
    await measure(`run the parent: claim + ctx.dependencies() (${n} consistent reads) + completion`, 1, () => drainAll(q, { merge: async (_p, ctx) => (await ctx.dependencies()).length }));
    const done = await queue.getJob(parentId);
    if (done?.status !== 'completed' || done.result !== n) throw new Error(`parent ${parentId} ended ${done?.status} with ${JSON.stringify(done?.result)}: ${done?.error} ${JSON.stringify(done?.dependencies)}`);

    const plain = `plain-${n}`;
    await measure(`baseline: enqueueMany of ${n} plain jobs (per job)`, n, () => queue.enqueueMany(children.map((c) => ({ ...c, options: { queue: plain } }))));
    await measure(`baseline: run the ${n} plain jobs (per job; sweeps included)`, n, () => drainAll(plain, { page: (p: { i: number }) => p.i }));

    const cq = `cancel-${n}`;
    const { id } = await queue.enqueueParent('merge', {}, children, { queue: cq });
    await measure(`cancelJob of a parent with ${n} pending children (per child)`, n, () => queue.cancelJob(id));
  }
  const dq = 'depends';
  const dep = await queue.enqueue('a', {}, { queue: dq });
  await measure('enqueue with dependsOn one pending job (read, put, registration)', 1, () => queue.enqueue('b', {}, { queue: dq, dependsOn: [dep] }));
  await measure('run the dependency: its completion counted in the dependent, which it releases', 1, () => queue.processJobs({ a: () => 1 }, { queue: dq, maxJobs: 1 }));
  client.destroy();
} finally {
  await ddb.stop();
}

const table = [
  '| what | jobs | read units (billed) | write units (billed) | cancelled transactions | read units per job | write units per job |',
  '| --- | --- | --- | --- | --- | --- | --- |',
  ...rows.map((r) => `| ${r.what} | ${r.jobs} | ${r.readUnits} | ${r.writeUnits} | ${r.cancelledTransactions} | ${r.readPerJob} | ${r.writePerJob} |`),
].join('\n');
console.log(table);
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/fan-in-cost.json', `${JSON.stringify({ at: new Date().toISOString(), rows }, null, 2)}\n`);
