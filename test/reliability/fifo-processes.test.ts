/**
 * FIFO per group with several worker processes (issue 12): every run's start and end is logged by
 * the process that ran it; per group, starts follow enqueue order (a job failing its first attempt
 * retried before the next starts) and no two runs overlap; and a group held by a job that waits
 * for the others to finish does not keep them from finishing (blocked, they never would).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobQueue } from '../../lib/queue.ts';
import { spawnWorker } from '../../bench/lib/spawn-worker.ts';
import type { FifoWork } from '../../bench/lib/worker-child.ts';
import { ddbEndpoint, dropTable, freshTable, testClient, waitFor } from '../helpers/ddb.ts';

const SHARDS = 4;
const LIMITS = { default: { group: { fifo: true } } };

interface LoggedRun {
  readonly group: string;
  readonly n: number;
  readonly attempt: number;
  readonly pid: number;
  readonly start: number;
  end: number;
}

/** The runs in a run log: each `fstart` paired with the `fend` of the same group, job, attempt and process. */
function parseRuns(log: string): LoggedRun[] {
  const runs: LoggedRun[] = [];
  for (const line of log.split('\n')) {
    const [kind, group, n, attempt, pid, at] = line.split(' ');
    if (kind === 'fstart') runs.push({ group: group!, n: Number(n), attempt: Number(attempt), pid: Number(pid), start: Number(at), end: Infinity });
    if (kind === 'fend') {
      const run = runs.find((r) => r.group === group && r.n === Number(n) && r.attempt === Number(attempt) && r.pid === Number(pid) && r.end === Infinity);
      if (run) run.end = Number(at);
    }
  }
  return runs;
}

describe('FIFO per group across worker processes', () => {
  const client = testClient();
  let tableName: string;
  let dir: string;
  beforeAll(async () => {
    tableName = await freshTable(client, 'fifo-procs');
    dir = mkdtempSync(join(tmpdir(), 'jobtable-fifo-'));
  });
  afterAll(async () => {
    await dropTable(client, tableName);
    client.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('per group: start order is enqueue order, runs never overlap, retries hold the group, a held group blocks no other', async () => {
    const queue = new JobQueue({ tableName, client, shardCount: SHARDS, limits: LIMITS });
    const runLog = join(dir, 'runs.log');
    const release = join(dir, 'release');
    const groups = ['g0', 'g1', 'g2', 'g3', 'g4', 'g5'];
    const perGroup = 6;
    // The held group: its first job waits for `release`, which is written once every other job has run.
    await queue.enqueue('fifo', { group: 'held', n: 0, waitFile: release } satisfies FifoWork, { queue: 'default', group: 'held', timeoutMs: 60_000 });
    await queue.enqueue('fifo', { group: 'held', n: 1 } satisfies FifoWork, { queue: 'default', group: 'held' });
    // Interleaved across groups, in the order each group's jobs must start; every third fails its first
    // attempt. The first half before the workers start, the rest while they run (enqueues racing the
    // completions that hand each group on).
    const enqueue = async (n: number) => {
      for (const group of groups) await queue.enqueue('fifo', { group, n, failFirst: n % 3 === 1, ms: 5 } satisfies FifoWork, { queue: 'default', group, backoff: { baseMs: 20, maxMs: 50 } });
    };
    for (let n = 0; n < perGroup / 2; n++) await enqueue(n);
    const workers = Array.from({ length: 3 }, () =>
      spawnWorker({ endpoint: ddbEndpoint(), tableName, shardCount: SHARDS, mode: 'worker', pollIntervalMs: 100, concurrency: 4, waitForGo: true, runLog, limits: LIMITS }),
    );
    await Promise.all(workers.map((w) => w.ready));
    for (const w of workers) w.go();
    for (let n = perGroup / 2; n < perGroup; n++) await enqueue(n);
    const others = groups.length * perGroup;
    await waitFor(() => existsSync(runLog) && parseRuns(readFileSync(runLog, 'utf8')).filter((r) => r.group !== 'held' && r.end !== Infinity && !(r.attempt === 1 && r.n % 3 === 1)).length === others, 120_000, 50);
    writeFileSync(release, '');
    await waitFor(() => parseRuns(readFileSync(runLog, 'utf8')).filter((r) => r.group === 'held' && r.end !== Infinity).length === 2, 60_000, 50);
    await waitFor(async () => (await queue.stats()).counts.completed === others + 2, 30_000, 100);
    for (const w of workers) w.process.kill('SIGTERM');
    const results = await Promise.all(workers.map((w) => w.result));
    for (const r of results) expect(r?.errors).toEqual([]);

    const runs = parseRuns(readFileSync(runLog, 'utf8'));
    expect(new Set(runs.map((r) => r.pid)).size).toBeGreaterThan(1);
    for (const group of [...groups, 'held']) {
      const mine = runs.filter((r) => r.group === group).sort((a, b) => a.start - b.start);
      const expected = group === 'held' ? [[0, 1], [1, 1]] : Array.from({ length: perGroup }, (_, n) => (n % 3 === 1 ? [[n, 1], [n, 2]] : [[n, 1]])).flat();
      expect(mine.map((r) => [r.n, r.attempt]), group).toEqual(expected);
      for (let i = 1; i < mine.length; i++) expect(mine[i]!.start, `${group}: run ${i} overlaps run ${i - 1}`).toBeGreaterThanOrEqual(mine[i - 1]!.end);
    }
    // Every other group ran to the end while the held group's first job was still running.
    const held = runs.find((r) => r.group === 'held' && r.n === 0)!;
    expect(Math.max(...runs.filter((r) => r.group !== 'held').map((r) => r.end))).toBeLessThanOrEqual(held.end);
    const stats = await queue.stats();
    expect(stats.counts).toMatchObject({ completed: others + 2, pending: 0, processing: 0, failed: 0 });
  });
});
