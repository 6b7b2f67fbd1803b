/**
 * The drain loop on fake time, against an in-memory table (no DynamoDB): it fills its slots with
 * parallel claims, each job runs once, priority holds, workers sharing a queue rarely meet, and
 * stopping never strands a claimed job.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Claim, ClaimAttempt } from '../../lib/store/claim-job.ts';
import { compareCandidates } from '../../lib/store/query-due.ts';
import type { Candidate, DueCursor, DueRead } from '../../lib/store/query-due.ts';
import type { Job, ProcessReport } from '../../lib/types.ts';
import { DrainLoop } from '../../lib/worker/drain/engine.ts';
import type { DrainPorts, DrainSettings } from '../../lib/worker/drain/engine.ts';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Jobs in memory, with the claim condition of the real table and round trips of fake time. */
class FakeTable {
  readonly jobs = new Map<string, { c: Candidate; status: 'pending' | 'processing' | 'completed'; worker?: string }>();
  readonly runs = new Map<string, number>();
  readonly claimOrder: string[] = [];
  claimsInFlight = 0;
  maxClaimsInFlight = 0;

  constructor(
    readonly shardCount: number,
    readonly roundTripMs = 10,
  ) {}

  add(n: number, priority = 0, prefix = 'j'): void {
    for (let i = 0; i < n; i++) {
      const id = `${prefix}${i}`;
      const shard = i % this.shardCount;
      const c: Candidate = { id, shard, runOrder: `0#${1000 - priority}#${i}`, priority, runAtMs: i, status: 'pending', leaseUntilMs: null, timeoutMs: 1_000 };
      this.jobs.set(id, { c, status: 'pending' });
    }
  }

  async read(shard: number, from?: DueCursor, limit = 25): Promise<DueRead> {
    await sleep(this.roundTripMs);
    const all = [...this.jobs.values()].filter((j) => j.c.shard === shard && j.status === 'pending').map((j) => j.c).sort(compareCandidates);
    const after = from?.ready?.id?.S;
    const start = after ? all.findIndex((c) => compareCandidates(c, this.jobs.get(after)!.c) > 0) : 0;
    const page = start < 0 ? [] : all.slice(start, start + limit);
    const more = start >= 0 && start + limit < all.length;
    return { candidates: page, queries: 1, truncated: more, cursor: more ? { ready: { id: { S: page[page.length - 1]!.id } } } : null, nextDueMs: null };
  }

  async claim(worker: string, c: Candidate): Promise<ClaimAttempt> {
    this.maxClaimsInFlight = Math.max(this.maxClaimsInFlight, ++this.claimsInFlight);
    await sleep(this.roundTripMs / 2);
    const j = this.jobs.get(c.id)!;
    const won = j.status === 'pending' && j.c.runOrder === c.runOrder;
    if (won) Object.assign(j, { status: 'processing', worker });
    await sleep(this.roundTripMs / 2);
    this.claimsInFlight--;
    if (!won) return { claim: null, winner: j.worker };
    this.claimOrder.push(c.id);
    const claim: Claim = { job: { id: c.id, type: 'noop', priority: c.priority } as unknown as Job, token: `t-${c.id}`, shard: c.shard, itemBytes: 100 };
    return { claim };
  }

  async run(c: Candidate): Promise<'completed'> {
    this.runs.set(c.id, (this.runs.get(c.id) ?? 0) + 1);
    await sleep(this.roundTripMs);
    this.jobs.get(c.id)!.status = 'completed';
    return 'completed';
  }
}

function loopOn(table: FakeTable, workerId: string, over: Partial<DrainSettings> = {}): DrainLoop {
  const ports: DrainPorts = {
    read: (shard, from) => table.read(shard, from),
    claim: (c) => table.claim(workerId, c),
    run: (c) => table.run(c),
    emit: () => {},
  };
  const settings: DrainSettings = {
    clock: { now: () => Date.now() },
    shardCount: table.shardCount,
    workerId,
    concurrency: 8,
    maxJobs: Infinity,
    budgetEnd: Infinity,
    finishBy: undefined,
    workerBudgetMs: undefined,
    leaseGraceMs: 2_000,
    sweepClaimLimit: 32,
    waitForDueWithinMs: 0,
    pollIntervalMs: 0,
    signal: undefined,
    wakeup: undefined,
    takeShardHints: undefined,
    ...over,
  };
  return new DrainLoop(ports, settings);
}

/** Runs the drains to their end on fake time. */
async function finish(...runs: Promise<ProcessReport>[]): Promise<ProcessReport[]> {
  let done = false;
  const all = Promise.all(runs).finally(() => (done = true));
  for (let i = 0; i < 100_000 && !done; i++) await vi.advanceTimersByTimeAsync(5);
  return all;
}

beforeEach(() => vi.useFakeTimers({ now: 1_800_000_000_000 }));
afterEach(() => vi.useRealTimers());

describe('DrainLoop on fake time', () => {
  it('keeps its slots full with parallel claims, and runs every job once', async () => {
    const table = new FakeTable(4);
    table.add(200);
    const [report] = await finish(loopOn(table, 'w1').run(() => {}));
    expect(report).toMatchObject({ claimed: 200, completed: 200, lostRaces: 0, stoppedBecause: 'drained' });
    expect(table.maxClaimsInFlight).toBe(8);
    expect([...table.runs.values()].every((n) => n === 1)).toBe(true);
    expect(table.runs.size).toBe(200);
    expect(report!.queries / report!.claimed).toBeLessThanOrEqual(0.5);
  });

  it('claims every higher-priority job before any lower one, across shards', async () => {
    const table = new FakeTable(4);
    table.add(40, 0, 'low');
    table.add(40, 5, 'high');
    await finish(loopOn(table, 'w1', { concurrency: 4 }).run(() => {}));
    const firstLow = table.claimOrder.findIndex((id) => id.startsWith('low'));
    expect(firstLow).toBe(40);
  });

  it('four workers on one queue: every job once, and they rarely meet', async () => {
    const table = new FakeTable(16);
    table.add(1_600);
    const reports = await finish(...['a', 'b', 'c', 'd'].map((w) => loopOn(table, w, { concurrency: 8 }).run(() => {})));
    expect(reports.reduce((s, r) => s + r.completed, 0)).toBe(1_600);
    expect([...table.runs.values()].every((n) => n === 1)).toBe(true);
    for (const r of reports) expect(r.completed).toBeGreaterThan(100); // the work was shared
    const lost = reports.reduce((s, r) => s + r.lostRaces, 0);
    expect(lost / 1_600).toBeLessThanOrEqual(0.05);
  });

  it('stops at maxJobs exactly, claims in parallel notwithstanding', async () => {
    const table = new FakeTable(4);
    table.add(100);
    const [report] = await finish(loopOn(table, 'w1', { maxJobs: 10 }).run(() => {}));
    expect(report).toMatchObject({ claimed: 10, completed: 10, stoppedBecause: 'maxJobs' });
  });

  it('on abort stops claiming, and every job it claimed still runs to its end', async () => {
    const table = new FakeTable(4);
    table.add(200);
    const controller = new AbortController();
    const run = loopOn(table, 'w1', { signal: controller.signal }).run(() => {});
    await vi.advanceTimersByTimeAsync(100);
    controller.abort();
    const [report] = await finish(run);
    expect(report!.stoppedBecause).toBe('aborted');
    expect(report!.claimed).toBeGreaterThan(0);
    expect(report!.claimed).toBeLessThan(200);
    expect(report!.completed).toBe(report!.claimed);
    const processing = [...table.jobs.values()].filter((j) => j.status === 'processing');
    expect(processing).toEqual([]);
  });
});
