/**
 * Per-request CPU probe (diagnostics, not part of `npm run bench`): the Node CPU and DynamoDB
 * Local JVM CPU of each request a drained job makes, beside the raw bound's bare update, so the
 * gap between the drain and the bound can be read request by request.
 *
 * `npx tsx bench/op-probe.ts [--ops 3000] [--reps 2]`
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { PutItemCommand, QueryCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
const systemClock = { now: () => Date.now() };
import { newJobId, newJobItem, toItem } from '../lib/model/codec.ts';
import { DEFAULT_RETENTION, validateEnqueue } from '../lib/model/validate.ts';
import { ATTR, LANE, READY_PREFIX, TABLE, statusShardKey } from '../lib/schema.ts';
import { tryClaim } from '../lib/store/claim-job.ts';
import type { Claim } from '../lib/store/claim-job.ts';
import { completeJob } from '../lib/store/complete-job.ts';
import type { StoreContext } from '../lib/store/context.ts';
import { JobQueue } from '../lib/index.ts';
import { queryDue } from '../lib/store/query-due.ts';
import { startDynamoDbLocal, localClient } from '../lib/local/dynamodb-local.ts';
import { benchTable, BENCH_SHARDS, processCpuMicros } from './lib/context.ts';
import { CapacityMeter } from './lib/capacity.ts';
import { boundUpdate } from './parts/raw.ts';
import { round, runConcurrent } from './lib/stats.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}

const OPS = Number(arg('ops', '3000'));
const REPS = Number(arg('reps', '2'));
const CONCURRENCY = 16;

const ddb = await startDynamoDbLocal();
const serverPid = ddb.process.pid;
const client = localClient(ddb.endpoint);

const PROF_DIR = process.argv.includes('--prof') ? arg('prof', '') : '';
let lastRep = false;

async function measure(label: string, n: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  const session = PROF_DIR && lastRep ? new Session() : undefined;
  if (session) {
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
  }
  const node0 = process.cpuUsage();
  const jvm0 = processCpuMicros(serverPid) ?? 0;
  const r = await runConcurrent(n, CONCURRENCY, fn);
  const node = process.cpuUsage(node0);
  const jvm = (processCpuMicros(serverPid) ?? 0) - jvm0;
  const nodeUs = (node.user + node.system) / n;
  if (session) {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(`${PROF_DIR}/${label.replace(/[^a-z0-9]+/gi, '-')}.cpuprofile`, JSON.stringify(profile));
    session.disconnect();
  }
  console.log(
    `${label.padEnd(28)} ${String(round((n / r.wallMs) * 1000, 0)).padStart(6)}/s  node ${String(round(nodeUs, 0)).padStart(5)} µs  jvm ${String(round(jvm / n, 0)).padStart(5)} µs  total ${round(nodeUs + jvm / n, 0)} µs`,
  );
}

for (let rep = 0; rep < REPS; rep++) {
  lastRep = rep === REPS - 1;
  const { tableName, drop } = await benchTable(client, 'ops');
  const ctx: StoreContext = { client, tableName, shardCount: BENCH_SHARDS, clock: systemClock, random: Math.random, retention: DEFAULT_RETENTION };
  const now = Date.now() - 1000;
  const spec = validateEnqueue('noop', { n: 0 }, undefined, now);
  const raw = Array.from({ length: OPS }, (_, i) => newJobItem(spec, newJobId(), i % BENCH_SHARDS, now));
  const items = raw.map((r) => toItem(r));
  const items2 = Array.from({ length: OPS }, (_, i) => toItem(newJobItem(spec, newJobId(), i % BENCH_SHARDS, now)));
  console.log(`--- rep ${rep + 1}`);
  await measure('warm-up PutItem', 500, (i) => client.send(new PutItemCommand({ TableName: tableName, Item: { ...items[i]!, [ATTR.id]: { S: `warm-${i}` } } })));
  await measure('PutItem (job)', OPS, (i) => client.send(new PutItemCommand({ TableName: tableName, Item: items[i]! })));
  await measure('PutItem (job) b', OPS, (i) => client.send(new PutItemCommand({ TableName: tableName, Item: items2[i]! })));
  const lease = new Date(now + 60_000).toISOString();
  await measure('bound: cond. UpdateItem', OPS, (i) => client.send(boundUpdate(tableName, items[i]![ATTR.id]!, lease)));
  {
    const metered = localClient(ddb.endpoint);
    new CapacityMeter().attach(metered);
    const items4 = Array.from({ length: OPS }, (_, i) => toItem(newJobItem(spec, newJobId(), i % BENCH_SHARDS, now)));
    await runConcurrent(OPS, CONCURRENCY, (i) => client.send(new PutItemCommand({ TableName: tableName, Item: items4[i]! })));
    const upd = (c: typeof client, i: number) => c.send(boundUpdate(tableName, items4[i]![ATTR.id]!, lease));
    await measure('bound, unmetered (1/2)', OPS / 2, (i) => upd(client, i));
    await measure('bound, metered (2/2)', OPS / 2, (i) => upd(metered, i + OPS / 2));
    metered.destroy();
  }
  const claims: (Claim | null)[] = new Array(OPS).fill(null);
  await measure('claim (ALL_NEW)', OPS, async (i) => {
    const it = items2[i]!;
    const c = await tryClaim(
      ctx,
      {
        id: it[ATTR.id]!.S!,
        shard: i % BENCH_SHARDS,
        runOrder: it[ATTR.runOrder]!.S!,
        priority: 0,
        runAtMs: now,
        status: 'pending',
        leaseUntilMs: null,
        timeoutMs: Number(it[ATTR.timeoutMs]!.N),
      },
      'w1',
      5000,
    );
    claims[i] = c.claim;
  });
  const items3 = Array.from({ length: OPS }, (_, i) => toItem(newJobItem(spec, newJobId(), i % BENCH_SHARDS, now)));
  await runConcurrent(OPS, CONCURRENCY, (i) => client.send(new PutItemCommand({ TableName: tableName, Item: items3[i]! })));
  const variant = (label: string, rv: 'ALL_NEW' | 'NONE' | 'UPDATED_NEW', full: boolean) =>
    measure(label, OPS / 3, (j) => {
      const i = j + (label.endsWith('2') ? OPS / 3 : label.endsWith('3') ? (2 * OPS) / 3 : 0);
      const it = items3[i]!;
      return client.send(
        new UpdateItemCommand({
          TableName: tableName,
          Key: { [ATTR.id]: it[ATTR.id]! },
          ConditionExpression: full ? '#ro = :ro AND (#status = :pending OR #status = :processing) AND (attribute_not_exists(#lease) OR #lease <= :now)' : '#status = :pending AND attribute_not_exists(#lease)',
          UpdateExpression: full ? 'SET #status = :processing, #lease = :lease, #token = :token, #worker = :worker, #started = :now, #updated = :now, #attempts = #attempts + :one' : 'SET #status = :processing, #lease = :lease',
          ExpressionAttributeNames: full ? { '#ro': ATTR.runOrder, '#status': ATTR.status, '#lease': ATTR.leaseUntil, '#token': ATTR.claimToken, '#worker': ATTR.workerId, '#started': ATTR.startedAt, '#updated': ATTR.updatedAt, '#attempts': ATTR.attempts } : { '#status': ATTR.status, '#lease': ATTR.leaseUntil },
          ExpressionAttributeValues: full
            ? { ':ro': it[ATTR.runOrder]!, ':pending': { S: 'pending' }, ':processing': { S: 'processing' }, ':now': { S: new Date().toISOString() }, ':lease': { S: new Date(now + 60_000).toISOString() }, ':token': { S: '0193a0f2-1111-7000-8000-000000000000' }, ':worker': { S: 'worker-abc' }, ':one': { N: '1' } }
            : { ':pending': { S: 'pending' }, ':processing': { S: 'processing' }, ':lease': { S: new Date(now + 60_000).toISOString() } },
          ReturnValues: rv,
        }),
      );
    });
  await variant('bound + ALL_NEW 1', 'ALL_NEW', false);
  await variant('claim expr, NONE 2', 'NONE', true);
  await variant('claim expr, ALL_NEW 3', 'ALL_NEW', true);
  await measure('complete', OPS, (i) => completeJob(ctx, claims[i]!.job.id, claims[i]!.token, undefined));
  // Queries against a shard full of pending entries.
  await measure('refill PutItem', OPS, (i) => client.send(new PutItemCommand({ TableName: tableName, Item: toItem(newJobItem(spec, newJobId(), i % BENCH_SHARDS, now)) })));
  await measure('Query 16 (raw)', 300, (i) =>
    client.send(
      new QueryCommand({
        TableName: tableName,
        IndexName: TABLE.indexName,
        Limit: 16,
        KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
        ExpressionAttributeNames: { '#pk': ATTR.statusShard, '#sk': ATTR.runOrder },
        ExpressionAttributeValues: { ':pk': { S: statusShardKey(spec.queue, LANE.due, i % BENCH_SHARDS) }, ':prefix': { S: READY_PREFIX } },
      }),
    ),
  );
  await measure('queryDue 16 (2 ranges)', 300, (i) => queryDue(ctx, spec.queue, i % BENCH_SHARDS, 16));
  await drop();
  // The same two writes per job, without a drain: claim + complete of known candidates, 16 loops.
  {
    const t = await benchTable(client, 'ops2');
    const c2: StoreContext = { ...ctx, tableName: t.tableName };
    const its = Array.from({ length: OPS }, (_, i) => toItem(newJobItem(spec, newJobId(), i % BENCH_SHARDS, now)));
    await runConcurrent(OPS, CONCURRENCY, (i) => client.send(new PutItemCommand({ TableName: t.tableName, Item: its[i]! })));
    await measure('job: claim + complete', OPS, async (i) => {
      const it = its[i]!;
      const c = await tryClaim(c2, { id: it[ATTR.id]!.S!, shard: i % BENCH_SHARDS, runOrder: it[ATTR.runOrder]!.S!, priority: 0, runAtMs: now, status: 'pending', leaseUntilMs: null, timeoutMs: Number(it[ATTR.timeoutMs]!.N) }, 'w1', 5000);
      await completeJob(c2, c.claim!.job.id, c.claim!.token, undefined);
    });
    await t.drop();
  }
  // The drain: processJobs 1 x 16 over OPS jobs enqueued first.
  {
    const t = await benchTable(client, 'ops3');
    const q = new JobQueue({ tableName: t.tableName, client, shardCount: BENCH_SHARDS });
    for (let i = 0; i < OPS; i += 1000) await q.enqueueMany(Array.from({ length: Math.min(1000, OPS - i) }, (_, k) => ({ type: 'noop', payload: { n: i + k } })));
    await measure('drain 1x16 (per job)', OPS, async (i) => {
      if (i === 0) await q.processJobs({ noop: () => null }, { concurrency: 16 });
    });
    await t.drop();
  }
}
client.destroy();
await ddb.stop();
