/**
 * Flow-control limits across worker PROCESSES: spawns long-lived workers (bench/lib/worker-child.ts)
 * with the same limits, optionally SIGKILLs some mid-run, and reads back every run's start and end
 * from the run logs (`start <id> <attempt> <pid> <ms> [<group>]`, `end <id> <pid> <ms> <aborted>`).
 * A run of a killed process that never wrote its end ends when the process was seen dead.
 */
import { QueryCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import type { AttributeValue, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnWorker } from '../../../bench/lib/spawn-worker.ts';
import type { WorkerProcess } from '../../../bench/lib/spawn-worker.ts';
import type { ChildResult } from '../../../bench/lib/worker-child.ts';
import type { LimitsByQueue } from '../../../lib/model/limits.ts';
import { ATTR, LANE, TABLE, statusShardKey } from '../../../lib/schema.ts';

/** One run of a handler. */
export interface Run {
  readonly id: string;
  readonly pid: string;
  readonly group: string | null;
  readonly start: number;
  end: number;
}

/** Options of {@link runLimited}. */
export interface LimitedRunOptions {
  readonly endpoint: string;
  readonly client: DynamoDBClient;
  readonly tableName: string;
  readonly shardCount: number;
  readonly queue: string;
  readonly limits: LimitsByQueue;
  readonly workers: number;
  readonly concurrency: number;
  readonly jobSleepMs: number;
  readonly jobSleepJitterMs?: number;
  readonly leaseGraceMs?: number;
  /** SIGKILL a random worker (and start a replacement) at these ms after the workers were told to go. @default none */
  readonly killAtMs?: readonly number[];
  /** Stop when this returns true (polled every 250 ms; given the ms since the workers were told to go), or at `deadlineMs`. */
  readonly done: (sinceGoMs: number) => Promise<boolean>;
  readonly deadlineMs: number;
}

/** What happened. */
export interface LimitedRunOutcome {
  readonly runs: Run[];
  readonly kills: number;
  readonly results: ChildResult[];
  /** Whether `done` returned true before the deadline. */
  readonly finished: boolean;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Runs worker processes until `done` (or the deadline), killing as asked; returns every run. */
export async function runLimited(o: LimitedRunOptions): Promise<LimitedRunOutcome> {
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'jobtable-limits-'));
  let spawned = 0;
  const spawn = (): WorkerProcess =>
    spawnWorker({
      endpoint: o.endpoint,
      tableName: o.tableName,
      shardCount: o.shardCount,
      mode: 'worker',
      waitForGo: true,
      queue: o.queue,
      limits: o.limits,
      concurrency: o.concurrency,
      jobSleepMs: o.jobSleepMs,
      jobSleepJitterMs: o.jobSleepJitterMs ?? 0,
      pollIntervalMs: 200,
      runLog: join(dir, `run-${spawned++}.log`),
      ...(o.leaseGraceMs !== undefined ? { leaseGraceMs: o.leaseGraceMs } : {}),
    });
  const slots = Array.from({ length: o.workers }, spawn);
  const all = slots.map((s) => s.result);
  const killedAt = new Map<string, number>();
  const kills = [...(o.killAtMs ?? [])].sort((a, b) => a - b);
  let finished = false;
  try {
    await Promise.all(slots.map((s) => s.ready));
    for (const s of slots) s.go();
    const goAt = Date.now();
    while (Date.now() - started < o.deadlineMs) {
      if (await o.done(Date.now() - goAt)) {
        finished = true;
        break;
      }
      if (kills.length > 0 && Date.now() - goAt >= kills[0]!) {
        kills.shift();
        const i = Math.floor(Math.random() * slots.length);
        const victim = slots[i]!;
        victim.process.kill('SIGKILL');
        await victim.result;
        killedAt.set(String(victim.pid), Date.now());
        slots[i] = spawn();
        all.push(slots[i]!.result);
        await slots[i]!.ready;
        slots[i]!.go();
      }
      await sleep(250);
    }
    for (const s of slots) s.process.kill('SIGTERM');
    const results = (await Promise.all(all)).filter((r): r is ChildResult => r !== null);
    return { runs: readRuns(dir, killedAt), kills: killedAt.size, results, finished };
  } finally {
    for (const s of slots) if (s.process.exitCode === null) s.process.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Every run in the logs of `dir`; open runs of killed processes end when they were seen dead. */
function readRuns(dir: string, killedAt: ReadonlyMap<string, number>): Run[] {
  const runs: Run[] = [];
  const open = new Map<string, Run[]>(); // `${id} ${pid}` -> open runs
  for (const f of readdirSync(dir)) {
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
      const [kind, id, a, b, c, d] = line.split(' ');
      if (kind === 'start' && id && c) {
        const run: Run = { id, pid: b!, group: d ?? null, start: Number(c), end: Infinity };
        runs.push(run);
        (open.get(`${id} ${b}`) ?? open.set(`${id} ${b}`, []).get(`${id} ${b}`)!).push(run);
      } else if (kind === 'end' && id) {
        const run = open.get(`${id} ${a}`)?.shift();
        if (run) run.end = Number(b);
      }
    }
  }
  for (const run of runs) if (run.end === Infinity) run.end = killedAt.get(run.pid) ?? Infinity;
  return runs;
}

/** The most runs of each key (by `keyOf`) that were running at one instant. */
export function maxConcurrent(runs: readonly Run[], keyOf: (r: Run) => string): Map<string, number> {
  const events = runs.flatMap((r) => [
    { t: r.start, d: 1, k: keyOf(r) },
    { t: r.end, d: -1, k: keyOf(r) },
  ]);
  events.sort((x, y) => x.t - y.t || x.d - y.d); // an end before a start at the same instant
  const now = new Map<string, number>();
  const max = new Map<string, number>();
  for (const e of events) {
    const n = (now.get(e.k) ?? 0) + e.d;
    now.set(e.k, n);
    max.set(e.k, Math.max(max.get(e.k) ?? 0, n));
  }
  return max;
}

/** The most starts within any window `[t, t + windowMs)`, over sorted start times. */
export function maxStartsInWindow(starts: readonly number[], windowMs: number): number {
  const sorted = [...starts].sort((a, b) => a - b);
  let max = 0;
  let lo = 0;
  for (let hi = 0; hi < sorted.length; hi++) {
    while (sorted[hi]! - sorted[lo]! >= windowMs) lo++;
    max = Math.max(max, hi - lo + 1);
  }
  return max;
}

/** Jobs of `queue` still in the due lane (pending or processing), counted from the index. */
export async function dueCount(client: DynamoDBClient, tableName: string, queue: string, shardCount: number): Promise<number> {
  let n = 0;
  for (let shard = 0; shard < shardCount; shard++) {
    let start: Record<string, AttributeValue> | undefined;
    do {
      const res = await client.send(
        new QueryCommand({
          TableName: tableName,
          IndexName: TABLE.indexName,
          Select: 'COUNT',
          KeyConditionExpression: '#pk = :pk',
          ExpressionAttributeNames: { '#pk': ATTR.statusShard },
          ExpressionAttributeValues: { ':pk': { S: statusShardKey(queue, LANE.due, shard) } },
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      n += res.Count ?? 0;
      start = res.LastEvaluatedKey;
    } while (start);
  }
  return n;
}

/** The concurrency limit items of the table: id to the holders they list, each with its lease end (epoch ms). */
export async function slotHolders(client: DynamoDBClient, tableName: string): Promise<Map<string, Array<{ token: string; leaseUntilMs: number }>>> {
  const res = await client.send(new ScanCommand({ TableName: tableName, ConsistentRead: true, FilterExpression: 'begins_with(#id, :p)', ExpressionAttributeNames: { '#id': ATTR.id }, ExpressionAttributeValues: { ':p': { S: 'limit#concurrency#' } } }));
  return new Map((res.Items ?? []).map((it) => [it[ATTR.id]!.S!, Object.entries(it.holders?.M ?? {}).map(([token, v]) => ({ token, leaseUntilMs: Number(v.N) }))]));
}
