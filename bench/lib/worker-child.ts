/**
 * A worker in its own process, for the end-to-end benchmark and the crash tests:
 * `node --import tsx bench/lib/worker-child.ts '<ChildConfig JSON>'` (spawn-worker.ts runs it bundled).
 *
 * It builds a `JobQueue` against the shared endpoint, prints `{"ready":true}`, waits for a `go`
 * line on stdin if asked, then drains (`mode: 'drain'`, returns when nothing is due) or runs a
 * long-lived `Worker` (`mode: 'worker'`, until SIGTERM). It prints one JSON line
 * {@link ChildResult} at the end. The `noop` handler optionally sleeps and, with `runLog`, appends
 * `start <id> <attempt> <pid> <epoch ms> [<group>]` before running and `done <id>` after its completion was written, so a
 * parent can count runs per job even across SIGKILLs (appendFileSync reaches the page cache
 * before the handler returns). Every `start` line ends with the epoch ms it was written, and
 * every handler that returns or throws appends `end <id> <pid> <epoch ms> <aborted>`, so a parent
 * can check that no two runs of one job overlapped. With `heartbeat`, each job heartbeats once
 * and then works; on a first attempt the heartbeat's response is held back at random (the write
 * lands at once), as after throttling or a slow network.
 */
import { appendFileSync, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
// Direct imports rather than lib/index.ts: the bundle stays small and free of the local stack.
import { JobQueue } from '../../lib/queue.ts';
import type { LimitsByQueue } from '../../lib/model/limits.ts';
import type { JobContext, ProcessReport, WorkerEvent } from '../../lib/types.ts';
import { Worker } from '../../lib/worker/worker.ts';
import { localClient } from '../../lib/local/dynamodb-local.ts';
import { CapacityMeter } from './capacity.ts';
import type { CommandCost } from './capacity.ts';
import { enqueueNoops } from './context.ts';
import { effectsWork } from './effects.ts';
import type { EffectsPlan } from './effects.ts';

/** What a child is told. */
export interface ChildConfig {
  readonly endpoint: string;
  readonly tableName: string;
  readonly shardCount: number;
  readonly mode: 'drain' | 'worker';
  /** Jobs run at once. */
  readonly concurrency: number;
  /** Wait for a `go` line on stdin before starting. */
  readonly waitForGo?: boolean;
  /** File to append run markers to. */
  readonly runLog?: string;
  /** Milliseconds each job sleeps. @default 0 */
  readonly jobSleepMs?: number;
  /** `pollIntervalMs` of the long-lived worker. @default 200 */
  readonly pollIntervalMs?: number;
  /** `leaseGraceMs` of the worker. @default 2000 */
  readonly leaseGraceMs?: number;
  /** Heartbeat once, then work `workMs` (instead of sleeping `jobSleepMs`). */
  readonly heartbeat?: HeartbeatPlan;
  /** Each job adds 1 to a counter of an application table (with injected faults): see {@link EffectsPlan}. */
  readonly effects?: EffectsPlan;
  /** Each job sleeps `jobSleepMs` plus up to this many ms more, at random. @default 0 */
  readonly jobSleepJitterMs?: number;
  /** The queue drained. @default "default" */
  readonly queue?: string;
  /** Flow-control limits per queue (`JobQueueOptions.limits`, e.g. `{ default: { group: { fifo: true } } }`). @default none */
  readonly limits?: LimitsByQueue;
  /** `waitForDueWithinMs` of a drain (retries due soon are waited for). @default 0 */
  readonly waitForDueWithinMs?: number;
  /** Meter every request (`ChildResult.cost`; it slows DynamoDB Local down). @default true */
  readonly metered?: boolean;
  /**
   * Before it reports ready, the child enqueues this many no-op jobs to a queue of its own and
   * drains them: its JIT and connections are warm, as a Lambda worker's are after its first
   * invocation (and as the raw bound's are after its warm-up calls). @default 0
   */
  readonly warmUpJobs?: number;
}

/** The payload of a `fifo` job: logs `fstart`/`fend <group> <n> <attempt> <pid> <epoch ms>` around its run. */
export interface FifoWork {
  readonly group: string;
  readonly n: number;
  /** Fail the first attempt. */
  readonly failFirst?: boolean;
  /** Milliseconds to sleep. */
  readonly ms?: number;
  /** Wait (polling) until this file exists before returning. */
  readonly waitFile?: string;
}

/** What a heartbeating job does. */
export interface HeartbeatPlan {
  /** Milliseconds of work after the heartbeat returned (cut short if the signal aborts). */
  readonly workMs: number;
  /** Chance that a first attempt's heartbeat response is held back. */
  readonly slowRate: number;
  /** How long a held-back response takes. */
  readonly slowResponseMs: number;
}

/** What a child prints at the end. */
export interface ChildResult {
  readonly pid: number;
  readonly report: ProcessReport;
  /** Epoch ms when it started draining and when it stopped. */
  readonly startedAt: number;
  readonly endedAt: number;
  readonly cost: Record<string, CommandCost>;
  readonly errors: string[];
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Sleeps `ms`, or less if `signal` aborts first. */
function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
}

/** Holds back the response of the next heartbeat of each job in `slow` by `delayMs` (the write lands at once). */
function holdBackHeartbeats(client: ReturnType<typeof localClient>, slow: Set<string>, delayMs: number): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { Key?: { id?: { S?: string } }; ExpressionAttributeValues?: Record<string, unknown> };
      const id = input.Key?.id?.S;
      const isHeartbeat = context.commandName === 'UpdateItemCommand' && !!input.ExpressionAttributeValues?.[':lease'] && !!input.ExpressionAttributeValues?.[':fence_write'];
      if (!isHeartbeat || !id || !slow.delete(id)) return next(args);
      const out = await next(args);
      await sleep(delayMs);
      return out;
    },
    { step: 'deserialize', name: 'holdBackHeartbeat', priority: 'high' },
  );
}
/** Enqueues `jobs` no-op jobs to a queue of this process's own and drains them (see `ChildConfig.warmUpJobs`). */
async function warmUp(queue: JobQueue, jobs: number, concurrency: number): Promise<void> {
  const own = `warm-up-${process.pid}`;
  await enqueueNoops(queue, jobs, { queue: own });
  await queue.processJobs({ noop: () => null }, { concurrency, queue: own });
}

async function main(): Promise<void> {
  const cfg = JSON.parse(process.argv[2] ?? '{}') as ChildConfig;
  const client = localClient(cfg.endpoint);
  const meter = new CapacityMeter();
  if (cfg.metered ?? true) meter.attach(client);
  const queue = new JobQueue({ tableName: cfg.tableName, client, shardCount: cfg.shardCount, ...(cfg.limits ? { limits: cfg.limits } : {}) });
  const errors: string[] = [];
  const log = (line: string) => {
    if (cfg.runLog) appendFileSync(cfg.runLog, `${line}\n`);
  };
  const slow = new Set<string>();
  if (cfg.heartbeat) holdBackHeartbeats(client, slow, cfg.heartbeat.slowResponseMs);
  const work = async (ctx: JobContext) => {
    const plan = cfg.heartbeat;
    const sleepMs = (cfg.jobSleepMs ?? 0) + Math.random() * (cfg.jobSleepJitterMs ?? 0);
    if (!plan) return sleepMs > 0 ? sleep(sleepMs) : undefined;
    if (ctx.attempt === 1 && Math.random() < plan.slowRate) slow.add(ctx.job.id);
    await ctx.heartbeat();
    await sleepUnlessAborted(plan.workMs, ctx.signal);
    if (ctx.signal.aborted) throw ctx.signal.reason;
  };
  const effect = cfg.effects ? effectsWork(client, cfg.effects, log) : undefined;
  const handlers = {
    noop: async (_payload: unknown, ctx: JobContext) => {
      log(`start ${ctx.job.id} ${ctx.attempt} ${process.pid} ${Date.now()}${ctx.job.group ? ` ${ctx.job.group}` : ''}`);
      try {
        await (effect ? effect(ctx, () => work(ctx)) : work(ctx));
      } finally {
        log(`end ${ctx.job.id} ${process.pid} ${Date.now()} ${ctx.signal.aborted}`);
      }
      return null;
    },
    fifo: async (p: FifoWork, ctx: JobContext) => {
      const tag = `${p.group} ${p.n} ${ctx.attempt} ${process.pid}`;
      log(`fstart ${tag} ${Date.now()}`);
      try {
        await sleep(p.ms ?? 0);
        for (let waited = 0; p.waitFile && !existsSync(p.waitFile) && waited < 60_000; waited += 20) await sleep(20);
        if (p.failFirst && ctx.attempt === 1) throw new Error(`planned failure of ${p.group}/${p.n}`);
      } finally {
        log(`fend ${tag} ${Date.now()}`);
      }
      return null;
    },
  };
  const onEvent = (e: WorkerEvent) => {
    if (e.kind === 'completed') log(`done ${e.job.id} ${process.pid}`);
    else if (e.kind === 'stale') log(`stale ${e.job.id} ${process.pid}`);
    else if (e.kind === 'retrying') log(`retry ${e.job.id} ${process.pid}`);
    else if (e.kind === 'error' && errors.length < 20) errors.push(e.error.message);
  };
  if (cfg.warmUpJobs) await warmUp(queue, cfg.warmUpJobs, cfg.concurrency);
  meter.reset();
  process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
  if (cfg.waitForGo) {
    const rl = createInterface({ input: process.stdin });
    await new Promise<void>((resolve) => rl.on('line', (l) => l.trim() === 'go' && resolve()));
    rl.close();
  }
  const startedAt = Date.now();
  let report: ProcessReport;
  if (cfg.mode === 'drain') {
    report = await queue.processJobs(handlers, {
      concurrency: cfg.concurrency,
      onEvent,
      ...(cfg.queue ? { queue: cfg.queue } : {}),
      ...(cfg.leaseGraceMs !== undefined ? { leaseGraceMs: cfg.leaseGraceMs } : {}),
      ...(cfg.waitForDueWithinMs !== undefined ? { waitForDueWithinMs: cfg.waitForDueWithinMs } : {}),
    });
  } else {
    const worker = new Worker(queue, handlers, { concurrency: cfg.concurrency, pollIntervalMs: cfg.pollIntervalMs ?? 200, onEvent, ...(cfg.queue ? { queue: cfg.queue } : {}), ...(cfg.leaseGraceMs !== undefined ? { leaseGraceMs: cfg.leaseGraceMs } : {}) });
    const done = worker.start();
    await new Promise<void>((resolve) => process.once('SIGTERM', () => resolve()));
    await worker.stop();
    report = await done;
  }
  const result: ChildResult = { pid: process.pid, report, startedAt, endedAt: Date.now(), cost: meter.snapshot(), errors };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  client.destroy();
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
