/**
 * The crash test: worker processes drain a table while a chaos loop SIGKILLs a random one and
 * starts a replacement, over and over. Every worker appends `start <id>` before running a job and
 * `done <id>` once its completion was written (see bench/lib/worker-child.ts), so afterwards we
 * can count, per job, the runs and the kills that hit it (a killed process that started the job
 * and never wrote `done` for it).
 */
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JobQueue } from '../../../lib/index.ts';
import { ATTR } from '../../../lib/schema.ts';
import { spawnWorker } from '../../../bench/lib/spawn-worker.ts';
import type { WorkerProcess } from '../../../bench/lib/spawn-worker.ts';
import type { HeartbeatPlan } from '../../../bench/lib/worker-child.ts';
import type { EffectsPlan } from '../../../bench/lib/effects.ts';

/**
 * Start and end of every run, from the run logs (`start <id> <attempt> <pid> <ms>`,
 * `end <id> <pid> <ms> <aborted>`), to check that runs of one job never overlap.
 */
class RunTimeline {
  private readonly runs = new Map<string, Array<{ pid: string; start: number; end?: number }>>();
  abortedRuns = 0;

  add(line: string): void {
    const [kind, id, a, b, c] = line.split(' ');
    if (!id) return;
    if (kind === 'start' && c) (this.runs.get(id) ?? this.runs.set(id, []).get(id)!).push({ pid: b!, start: Number(c) });
    if (kind === 'end') {
      // A process runs a job at most once at a time: the end belongs to its latest open run.
      const open = (this.runs.get(id) ?? []).filter((r) => r.pid === a && r.end === undefined).pop();
      if (open) open.end = Number(b);
      if (c === 'true') this.abortedRuns++;
    }
  }

  /** Runs that began before the previous run of the same job ended. */
  overlaps(killedAt: Map<string, number>): Array<{ id: string; endedAt: number; nextStartedAt: number }> {
    const found: Array<{ id: string; endedAt: number; nextStartedAt: number }> = [];
    for (const [id, runs] of this.runs) {
      const sorted = [...runs].sort((x, y) => x.start - y.start);
      for (let i = 1; i < sorted.length; i++) {
        const prev = sorted[i - 1]!;
        const endedAt = prev.end ?? killedAt.get(prev.pid) ?? Infinity;
        if (sorted[i]!.start < endedAt) found.push({ id, endedAt, nextStartedAt: sorted[i]!.start });
      }
    }
    return found;
  }
}

/** Options of {@link runChaos}. */
export interface ChaosOptions {
  readonly endpoint: string;
  readonly client: DynamoDBClient;
  readonly tableName: string;
  readonly workers: number;
  readonly jobs: number;
  readonly kills: number;
  /** Pause between kills. */
  readonly killEveryMs: number;
  /** Milliseconds each job sleeps (so that kills land mid-job). */
  readonly jobSleepMs: number;
  /** Timeout of each job; its lease is this plus the grace. @default 1000 */
  readonly jobTimeoutMs?: number;
  /** The workers' lease grace. @default 2000 */
  readonly leaseGraceMs?: number;
  /** Jobs heartbeat once (some responses held back), then work: see {@link HeartbeatPlan}. */
  readonly heartbeat?: HeartbeatPlan;
  /** Jobs add 1 to an application counter, with faults after the writes: see {@link EffectsPlan}. */
  readonly effects?: EffectsPlan;
  /** Give up after this long. */
  readonly deadlineMs: number;
  /** Progress lines. @default none */
  readonly log?: (message: string) => void;
}

/** What happened. */
export interface ChaosOutcome {
  readonly kills: number;
  /** Jobs not completed at the end (lost or stuck). */
  readonly notCompleted: string[];
  /** Jobs that ran more often than 1 + the kills that hit them. */
  readonly overRun: Array<{ id: string; runs: number; hits: number; retried: number; staleIn: number }>;
  /** Jobs whose completion was written more than once (a stale worker overwrote an outcome). */
  readonly doubleCompleted: string[];
  /**
   * Pairs of runs of one job that overlapped in time: a run began before the previous one ended
   * (a killed run ends when its process was seen dead).
   */
  readonly overlaps: Array<{ id: string; endedAt: number; nextStartedAt: number }>;
  /** Runs whose handler's signal was aborted (a timeout or a deadline). */
  readonly abortedRuns: number;
  readonly jobsHitByKills: number;
  readonly totalRuns: number;
  readonly staleOutcomes: number;
  /**
   * Runs that followed an earlier run of the same job with no retry written in between: another
   * worker claimed the job once the previous run's lease ran out (its process killed, or its
   * write held up), summed over the jobs.
   */
  readonly takeovers: number;
  /** Injected by an {@link EffectsPlan}: transactions held past their lease, and answers lost after a write landed. */
  readonly held: number;
  readonly lostAnswers: number;
  readonly seconds: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * The slow-heartbeat scenario: a 3 s timeout and 0.5 s grace (a 3.5 s lease from the heartbeat's
 * send); each job heartbeats, then works 2 s; 40% of first attempts get their heartbeat response
 * 2.5 s late. A deadline counted from the response (2.5 + 3 s) would let such a run work on until
 * 4.5 s, a second past its lease, while another worker may claim the job. Counted from the send,
 * the run is aborted at 3 s and retried.
 */
export const SLOW_HEARTBEATS = {
  jobTimeoutMs: 3_000,
  leaseGraceMs: 500,
  jobSleepMs: 0,
  heartbeat: { workMs: 2_000, slowRate: 0.4, slowResponseMs: 2_500 },
} as const satisfies Partial<ChaosOptions>;

async function countCompleted(client: DynamoDBClient, tableName: string): Promise<number> {
  let count = 0;
  let start: Record<string, import('@aws-sdk/client-dynamodb').AttributeValue> | undefined;
  do {
    const res = await client.send(
      new ScanCommand({
        TableName: tableName,
        Select: 'COUNT',
        FilterExpression: '#s = :c',
        ExpressionAttributeNames: { '#s': ATTR.status },
        ExpressionAttributeValues: { ':c': { S: 'completed' } },
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    count += res.Count ?? 0;
    start = res.LastEvaluatedKey;
  } while (start);
  return count;
}

/** Enqueues, drains under chaos, and analyses the run logs. */
export async function runChaos(o: ChaosOptions): Promise<ChaosOutcome> {
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'jobtable-chaos-'));
  const queue = new JobQueue({ tableName: o.tableName, client: o.client, shardCount: 8 });
  const ids: string[] = [];
  for (let i = 0; i < o.jobs; i += 1_000) {
    ids.push(...(await queue.enqueueMany(Array.from({ length: Math.min(1_000, o.jobs - i) }, (_, k) => ({ type: 'noop', payload: { n: i + k }, options: { timeoutMs: o.jobTimeoutMs ?? 1_000, maxAttempts: 25 } })))));
  }
  let spawned = 0;
  const spawn = (): WorkerProcess =>
    spawnWorker({
      endpoint: o.endpoint,
      tableName: o.tableName,
      shardCount: 8,
      mode: 'worker',
      concurrency: 4,
      jobSleepMs: o.jobSleepMs,
      pollIntervalMs: 200,
      runLog: join(dir, `run-${spawned++}.log`),
      ...(o.leaseGraceMs !== undefined ? { leaseGraceMs: o.leaseGraceMs } : {}),
      ...(o.heartbeat ? { heartbeat: o.heartbeat } : {}),
      ...(o.effects ? { effects: o.effects } : {}),
    });
  const slots = Array.from({ length: o.workers }, spawn);
  const killed = new Set<number>();
  /** When each killed process was seen dead (epoch ms): the end of any run it had not finished. */
  const killedAt = new Map<string, number>();
  const allResults: Array<Promise<import('../../../bench/lib/worker-child.ts').ChildResult | null>> = slots.map((s) => s.result);
  try {
    await Promise.all(slots.map((s) => s.ready));
    let kills = 0;
    let done = 0;
    while (Date.now() - started < o.deadlineMs) {
      done = await countCompleted(o.client, o.tableName);
      o.log?.(`${Math.round((Date.now() - started) / 1000)}s: ${done}/${o.jobs} completed, ${kills} kills`);
      if (done >= o.jobs && kills >= o.kills) break;
      if (kills < o.kills && done < o.jobs) {
        const slot = Math.floor(Math.random() * slots.length);
        const victim = slots[slot]!;
        killed.add(victim.pid);
        victim.process.kill('SIGKILL');
        await victim.result;
        killedAt.set(String(victim.pid), Date.now());
        kills++;
        const replacement = spawn();
        slots[slot] = replacement;
        allResults.push(replacement.result);
        await replacement.ready;
        await sleep(o.killEveryMs);
      } else await sleep(250);
      if (done >= o.jobs && kills < o.kills) break; // finished before all kills: reported via `kills`
    }
    for (const s of slots) s.process.kill('SIGTERM');
    const results = (await Promise.all(allResults)).filter((r) => r !== null);
    // Analyse the run logs.
    const timeline = new RunTimeline();
    const runsById = new Map<string, number>();
    const doneById = new Map<string, number>();
    const startedIn = new Map<string, Set<string>>(); // pid -> job ids started
    const doneIn = new Map<string, Set<string>>();
    // Evidence for runs not caused by kills: a timed-out attempt (retry) or a lease that ran out (stale).
    const retriedById = new Map<string, number>();
    const staleById = new Map<string, number>();
    const injected = { held: 0, lost: 0 };
    for (const f of readdirSync(dir)) {
      for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
        timeline.add(line);
        const [kind, id, a, b] = line.split(' ');
        if (!id) continue;
        const pid = kind === 'start' ? b! : a!;
        if (kind === 'start') {
          runsById.set(id, (runsById.get(id) ?? 0) + 1);
          (startedIn.get(pid) ?? startedIn.set(pid, new Set()).get(pid)!).add(id);
        } else if (kind === 'retry') retriedById.set(id, (retriedById.get(id) ?? 0) + 1);
        else if (kind === 'stale') staleById.set(id, (staleById.get(id) ?? 0) + 1);
        else if (kind === 'held' || kind === 'lost') injected[kind]++;
        else if (kind === 'done') {
          doneById.set(id, (doneById.get(id) ?? 0) + 1);
          (doneIn.get(pid) ?? doneIn.set(pid, new Set()).get(pid)!).add(id);
        }
      }
    }
    const hits = new Map<string, number>();
    for (const pid of killed) {
      for (const id of startedIn.get(String(pid)) ?? []) if (!doneIn.get(String(pid))?.has(id)) hits.set(id, (hits.get(id) ?? 0) + 1);
    }
    const scan: Array<Record<string, import('@aws-sdk/client-dynamodb').AttributeValue>> = [];
    let start: Record<string, import('@aws-sdk/client-dynamodb').AttributeValue> | undefined;
    do {
      const res = await o.client.send(new ScanCommand({ TableName: o.tableName, ConsistentRead: true, ...(start ? { ExclusiveStartKey: start } : {}) }));
      scan.push(...(res.Items ?? []));
      start = res.LastEvaluatedKey;
    } while (start);
    const status = new Map(scan.map((it) => [it[ATTR.id]!.S!, it[ATTR.status]?.S]));
    return {
      kills,
      notCompleted: ids.filter((id) => status.get(id) !== 'completed'),
      overRun: ids
        .map((id) => ({ id, runs: runsById.get(id) ?? 0, hits: hits.get(id) ?? 0, retried: retriedById.get(id) ?? 0, staleIn: staleById.get(id) ?? 0 }))
        .filter((x) => x.runs > 1 + x.hits),
      doubleCompleted: ids.filter((id) => (doneById.get(id) ?? 0) > 1),
      overlaps: timeline.overlaps(killedAt),
      abortedRuns: timeline.abortedRuns,
      jobsHitByKills: hits.size,
      totalRuns: [...runsById.values()].reduce((a, b) => a + b, 0),
      staleOutcomes: results.reduce((s, r) => s + r.report.stale, 0),
      takeovers: ids.reduce((sum, id) => sum + Math.max(0, (runsById.get(id) ?? 0) - 1 - (retriedById.get(id) ?? 0)), 0),
      held: injected.held,
      lostAnswers: injected.lost,
      seconds: Math.round((Date.now() - started) / 1000),
    };
  } finally {
    for (const s of slots) if (s.process.exitCode === null) s.process.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}
