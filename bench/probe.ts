/**
 * Drain probe (diagnostics, not part of `npm run bench`): interleaved in-process drains of
 * different shapes (workers x concurrency), each reporting jobs/s, CPU per job of this Node
 * process and of DynamoDB Local's JVM, requests per job by command, and how many requests were
 * in flight on average (time-weighted) against the slots the workers have.
 *
 * `npx tsx bench/probe.ts [--jobs 3000] [--reps 3] [--shapes 1x16,4x4,4x16,8x16] [--lag 0] [--warm 0] [--why]`
 * (`--meter`: write units per job, at a cost in speed; `--why`: where the lost claim races came from, see `LostRaces`; `--prof <dir>`: CPU profiles of the drains)
 * A/B in one run, interleaved: `--base /tmp/base --shapes A4x16,B4x16` (A: this checkout, B: the base).
 * Also reported: when the last job completed and when the last worker returned (`tailMs`), and the
 * rate between the 10th and 90th percentile completions (`steadyRate`).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { JobQueue } from '../lib/index.ts';
import type { ProcessReport } from '../lib/index.ts';
import { startDynamoDbLocal } from '../lib/local/dynamodb-local.ts';
import { CapacityMeter } from './lib/capacity.ts';
import { benchClient, benchTable, BENCH_SHARDS, FULL_SIZES, processCpuMicros, enqueueNoops } from './lib/context.ts';
import type { BenchContext } from './lib/context.ts';
import { IndexLag } from './lib/index-lag.ts';
import { benchRaw } from './parts/raw.ts';
import { round } from './lib/stats.ts';

/** `--meter`: count capacity on every request (ReturnConsumedCapacity; slows DynamoDB Local down). */
const METERED = process.argv.includes('--meter');

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}

/** Time-weighted requests in flight, per command, over every attached client. */
class InFlight {
  private n = 0;
  private last = performance.now();
  area = 0;
  readonly calls = new Map<string, number>();
  readonly latency = new Map<string, number>();
  scanned = 0;
  failed = 0;
  attach(client: DynamoDBClient): void {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const name = context.commandName ?? '?';
        this.calls.set(name, (this.calls.get(name) ?? 0) + 1);
        this.tick(+1);
        const t0 = performance.now();
        try {
          const out = await next(args);
          this.scanned += (out.output as { ScannedCount?: number }).ScannedCount ?? 0;
          return out;
        } catch (e) {
          this.failed++;
          throw e;
        } finally {
          this.tick(-1);
          this.latency.set(name, (this.latency.get(name) ?? 0) + performance.now() - t0);
        }
      },
      { step: 'initialize', name: 'probeInFlight', override: true },
    );
  }
  private tick(d: number): void {
    const now = performance.now();
    this.area += this.n * (now - this.last);
    this.last = now;
    this.n += d;
  }
}

/**
 * Why claims were lost (`--why`): each lost claim's item (returned by the failed condition) against
 * when this worker's query last showed the job. `lagged`: the winner claimed it before that query
 * returned (only a lagging index could show it as pending); `raced`: claimed after the read
 * (a race that happens without lag too); `finished`: of those, the winner had already finished
 * the job; `gone`: no claim on the item (it moved or was never claimed).
 * Also the age of the list the candidate came from when the claim was sent.
 */
class LostRaces {
  readonly kinds = { lagged: 0, raced: 0, gone: 0, finished: 0 };
  readonly ages: number[] = [];
  readonly behind: number[] = [];
  attach(client: DynamoDBClient): void {
    const seen = new Map<string, number>();
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const name = context.commandName ?? '?';
        const sentAt = Date.now();
        try {
          const out = await next(args);
          if (name === 'QueryCommand') for (const item of ((out.output as any).Items ?? []) as any[]) seen.set(item.id.S, Date.now());
          return out;
        } catch (e: any) {
          if (name === 'UpdateItemCommand' && e?.name === 'ConditionalCheckFailedException' && e.Item) this.lost((args.input as any).Key.id.S, e.Item, seen, sentAt);
          throw e;
        }
      },
      { step: 'initialize', name: 'probeLostRaces', override: true },
    );
  }
  private lost(id: string, item: any, seen: Map<string, number>, sentAt: number): void {
    const readAt = seen.get(id) ?? NaN;
    this.ages.push(sentAt - readAt);
    if (!item.started_at?.S) {
      this.kinds.gone++;
      return;
    }
    const claimedAt = Date.parse(item.started_at.S);
    this.behind.push(readAt - claimedAt);
    if (item.status?.S !== 'processing') this.kinds.finished++;
    if (claimedAt < readAt) this.kinds.lagged++;
    else this.kinds.raced++;
  }
  summary(): Record<string, unknown> {
    const q = (l: number[], f: number) => (l.length ? Math.round([...l].sort((a, b) => a - b)[Math.floor(l.length * f)]!) : null);
    return { ...this.kinds, listAgeMs: { p50: q(this.ages, 0.5), p90: q(this.ages, 0.9), max: q(this.ages, 0.999) }, readAfterClaimMs: { p10: q(this.behind, 0.1), p50: q(this.behind, 0.5), p90: q(this.behind, 0.9) } };
  }
}

interface Shape {
  readonly workers: number;
  readonly concurrency: number;
  /** 'B': the drain of the base copy in /tmp/baselib (A/B in one run). */
  readonly variant?: string;
}

/** `--base <dir>`: a checkout of another commit (`git archive <commit> lib | tar -x -C <dir>`), whose drain runs the shapes prefixed B. */
const baseDir = process.argv.includes('--base') ? arg('base', '') : undefined;
const BaseQueue: typeof JobQueue = baseDir ? ((await import(`${baseDir}/lib/index.ts`)) as { JobQueue: typeof JobQueue }).JobQueue : JobQueue;

async function drainOnce(ctx: BenchContext, jvmPid: number, shape: Shape, jobs: number, lagMs: number) {
  const producerClient = benchClient(ctx);
  const { tableName, drop } = await benchTable(producerClient, `probe${shape.workers}`);
  const clients = Array.from({ length: shape.workers }, () => benchClient(ctx));
  const meter = new CapacityMeter();
  const inflight = new InFlight();
  const why = process.argv.includes('--why') ? new LostRaces() : undefined;
  if (why) for (const c of clients) why.attach(c);
  const lag = lagMs > 0 ? new IndexLag(lagMs) : undefined;
  for (const c of [producerClient, ...clients]) {
    if (METERED) meter.attach(c);
    lag?.attach(c);
  }
  for (const c of clients) inflight.attach(c);
  try {
    const producer = new JobQueue({ tableName, client: producerClient, shardCount: BENCH_SHARDS });
    await enqueueNoops(producer, jobs);
    if (lag) await new Promise((r) => setTimeout(r, lagMs + 50));
    meter.reset();
    const profiler = await startProfile();
    const cpu0 = process.cpuUsage();
    const jvm0 = (processCpuMicros(jvmPid) ?? 0);
    const go = performance.now();
    const doneAt: number[] = [];
    const workerEnd: number[] = [];
    const perWorker = clients.map(() => [] as number[]);
    const reports: ProcessReport[] = await Promise.all(
      clients.map((client, w) =>
        new (shape.variant === 'B' ? BaseQueue : JobQueue)({ tableName, client, shardCount: BENCH_SHARDS }).processJobs({ noop: () => null }, {
          concurrency: shape.concurrency,
          workerId: `probe-${w}-${Date.now()}`,
          onEvent: (e) => {
            if (e.kind === 'completed') {
              const t = performance.now() - go;
              doneAt.push(t);
              perWorker[w]!.push(t);
            }
          },
        }).then((r) => {
          workerEnd[w] = Math.round(performance.now() - go);
          return r;
        }),
      ),
    );
    const wallMs = performance.now() - go;
    const cpu = process.cpuUsage(cpu0);
    await profiler?.stop(`${shape.variant ?? ''}${shape.workers}x${shape.concurrency}`);
    const jvm = (processCpuMicros(jvmPid) ?? 0) - jvm0;
    const sum = (k: keyof ProcessReport) => reports.reduce((s, r) => s + (r[k] as number), 0);
    const completed = sum('completed');
    const per = (n: number) => round(n / completed, 3);
    const calls = Object.fromEntries([...inflight.calls].map(([k, v]) => [k.replace('Command', ''), per(v)]));
    return {
      shape: `${shape.variant ?? ''}${shape.workers}x${shape.concurrency}`,
      completed,
      jobsPerSec: round((completed / wallMs) * 1000, 1),
      nodeCpuUsPerJob: Math.round((cpu.user + cpu.system) / completed),
      jvmCpuUsPerJob: Math.round(jvm / completed),
      avgInFlight: round(inflight.area / wallMs, 2),
      slots: shape.workers * shape.concurrency,
      lostPerJob: per(sum('lostRaces')),
      queriesPerJob: per(sum('queries')),
      calls,
      latencyMs: Object.fromEntries([...inflight.latency].map(([k, v]) => [k.replace('Command', ''), round(v / inflight.calls.get(k)!, 1)])),
      scannedPerQuery: round(inflight.scanned / (inflight.calls.get('QueryCommand') ?? 1), 1),
      tMs: { p50: Math.round(doneAt[Math.floor(doneAt.length * 0.5)]!), p90: Math.round(doneAt[Math.floor(doneAt.length * 0.9)]!), p99: Math.round(doneAt[Math.floor(doneAt.length * 0.99)]!), last: Math.round(doneAt[doneAt.length - 1]!), end: Math.round(wallMs) },
      workerEnd,
      perWorkerDone: perWorker.map((l) => l.length),
      steadyRate: round(((completed * 0.8) / (doneAt[Math.floor(doneAt.length * 0.9)]! - doneAt[Math.floor(doneAt.length * 0.1)]!)) * 1000, 1),
      tailMs: Math.round(wallMs - doneAt[doneAt.length - 1]!),
      ...(METERED ? { wruPerJob: round(meter.totals().billedWriteUnits / completed, 3) } : {}),
      ...(why ? { lost: why.summary() } : {}),
    };
  } finally {
    await drop();
    for (const c of [producerClient, ...clients]) c.destroy();
  }
}

/**
 * `--prof <dir>`: a CPU profile of this process during each drain (from the first claim to the
 * last worker's return, not the enqueue), written as `<dir>/<shape>-<n>.cpuprofile`.
 */
async function startProfile(): Promise<{ stop(label: string): Promise<void> } | undefined> {
  const dir = process.argv.includes('--prof') ? arg('prof', '') : '';
  if (!dir) return undefined;
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return {
    async stop(label) {
      const { profile } = await session.post('Profiler.stop');
      writeFileSync(`${dir}/${label}-${Date.now()}.cpuprofile`, JSON.stringify(profile));
      session.disconnect();
    },
  };
}

/** The raw bound with the same client: conditional UpdateItem/s at 16 loops, halved. */
async function rawBound(ctx: BenchContext): Promise<number> {
  const r = await benchRaw({ ...ctx, log: () => {} });
  return r.conditionalUpdatePerSec / 2;
}

async function main(): Promise<void> {
  const jobs = Number(arg('jobs', '3000'));
  const reps = Number(arg('reps', '3'));
  const lagMs = Number(arg('lag', '0'));
  const shapes: Shape[] = arg('shapes', '1x16,4x4,4x16,8x16')
    .split(',')
    .map((s) => {
      const variant = /^[AB]/.test(s) ? s[0] : undefined;
      const [w, c] = s.replace(/^[AB]/, '').split('x').map(Number);
      return { workers: w!, concurrency: c!, ...(variant ? { variant } : {}) };
    });
  const ddb = await startDynamoDbLocal();
  const jvmPid = ddb.process.pid!;
  const ctx: BenchContext = { endpoint: ddb.endpoint, sizes: FULL_SIZES, quick: false, log: (m) => console.error(m) };
  try {
    await rawBound(ctx);
    if (arg('warm', '1') === '1') await drainOnce(ctx, jvmPid, { workers: 1, concurrency: 16 }, jobs, 0);
    for (let rep = 0; rep < reps; rep++) {
      const bound = await rawBound(ctx);
      console.log(JSON.stringify({ rep, bound: round(bound, 1), load: readFileSync('/proc/loadavg', 'utf8').split(' ')[0] }));
      for (const shape of rep % 2 === 0 ? shapes : [...shapes].reverse()) {
        const r = await drainOnce(ctx, jvmPid, shape, jobs, lagMs);
        console.log(JSON.stringify({ ...r, ratio: round(r.jobsPerSec / bound, 3) }));
      }
    }
  } finally {
    await ddb.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
