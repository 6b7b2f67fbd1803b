/**
 * Per-request CPU probe (diagnostics, not part of `npm run bench`): the Node CPU and DynamoDB
 * Local JVM CPU of each request a drained job makes, beside the raw bound's bare update, so the
 * gap between the drain and the bound can be read request by request.
 *
 * `npx tsx bench/op-probe.ts [--ops 3000] [--reps 2]`
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { PutItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
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
import type { Candidate } from '../lib/store/query-due.ts';
import { startDynamoDbLocal, localClient } from '../lib/local/dynamodb-local.ts';
import { benchTable, BENCH_SHARDS, enqueueNoops, processCpuMicros } from './lib/context.ts';
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

/** `n` job items of a fresh spec (pending, due), spread over the shards. */
function jobItems(spec: ReturnType<typeof validateEnqueue>, n: number, now: number): Record<string, AttributeValue>[] {
  return Array.from({ length: n }, (_, i) => toItem(newJobItem(spec, newJobId(), i % BENCH_SHARDS, now)));
}

/** The candidate a drain would have read for job item `item`. */
function candidateOf(item: Record<string, AttributeValue>, now: number): Candidate {
  const shard = Number(item[ATTR.statusShard]!.S!.split('#').pop());
  return { id: item[ATTR.id]!.S!, shard, runOrder: item[ATTR.runOrder]!.S!, priority: 0, runAtMs: now, status: 'pending', leaseUntilMs: null, timeoutMs: Number(item[ATTR.timeoutMs]!.N) };
}

for (let rep = 0; rep < REPS; rep++) {
  lastRep = rep === REPS - 1;
  const { tableName, drop } = await benchTable(client, 'ops');
  const ctx: StoreContext = { client, tableName, shardCount: BENCH_SHARDS, clock: systemClock, random: Math.random, retention: DEFAULT_RETENTION };
  const now = Date.now() - 1000;
  const spec = validateEnqueue('noop', { n: 0 }, undefined, now);
  const put = (items: Record<string, AttributeValue>[]) => (i: number) => client.send(new PutItemCommand({ TableName: tableName, Item: items[i]! }));
  const items = jobItems(spec, OPS, now);
  const items2 = jobItems(spec, OPS, now);
  console.log(`--- rep ${rep + 1}`);
  await measure('warm-up PutItem', 500, put(jobItems(spec, 500, now)));
  await measure('PutItem (job)', OPS, put(items));
  await measure('PutItem (job) b', OPS, put(items2));
  const lease = new Date(now + 60_000).toISOString();
  await measure('bound: cond. UpdateItem', OPS, (i) => client.send(boundUpdate(tableName, items[i]![ATTR.id]!, lease)));
  {
    const metered = localClient(ddb.endpoint);
    new CapacityMeter().attach(metered);
    const items3 = jobItems(spec, OPS, now);
    await runConcurrent(OPS, CONCURRENCY, put(items3));
    const upd = (c: typeof client, i: number) => c.send(boundUpdate(tableName, items3[i]![ATTR.id]!, lease));
    await measure('bound, unmetered (1/2)', OPS / 2, (i) => upd(client, i));
    await measure('bound, metered (2/2)', OPS / 2, (i) => upd(metered, i + OPS / 2));
    metered.destroy();
  }
  const claims: (Claim | null)[] = new Array(OPS).fill(null);
  await measure('claim (ALL_NEW)', OPS, async (i) => {
    claims[i] = (await tryClaim(ctx, candidateOf(items2[i]!, now), 'w1', 5000)).claim;
  });
  await measure('complete', OPS, (i) => completeJob(ctx, claims[i]!.job.id, claims[i]!.token, undefined));
  // Queries against a shard full of pending entries.
  await measure('refill PutItem', OPS, put(jobItems(spec, OPS, now)));
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
    const its = jobItems(spec, OPS, now);
    await runConcurrent(OPS, CONCURRENCY, (i) => client.send(new PutItemCommand({ TableName: t.tableName, Item: its[i]! })));
    await measure('job: claim + complete', OPS, async (i) => {
      const { claim } = await tryClaim(c2, candidateOf(its[i]!, now), 'w1', 5000);
      await completeJob(c2, claim!.job.id, claim!.token, undefined);
    });
    await t.drop();
  }
  // The drain: processJobs 1 x 16 over OPS jobs enqueued first (timed as one call).
  {
    const t = await benchTable(client, 'ops3');
    const q = new JobQueue({ tableName: t.tableName, client, shardCount: BENCH_SHARDS });
    await enqueueNoops(q, OPS);
    await measure('drain 1x16 (per job)', OPS, async (i) => {
      if (i === 0) await q.processJobs({ noop: () => null }, { concurrency: 16 });
    });
    await t.drop();
  }
}
client.destroy();
await ddb.stop();
