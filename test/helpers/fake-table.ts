/**
 * An in-memory jobs table for driving the drain loop on fake time: the claim condition of the real
 * table, round trips of fake time, and counts of what happened.
 */
import type { Claim, ClaimAttempt } from '../../lib/store/claim-job.ts';
import { compareCandidates } from '../../lib/store/query-due.ts';
import type { Candidate, DueCursor, DueRead } from '../../lib/store/query-due.ts';
import type { Job } from '../../lib/types.ts';
import { DrainLoop } from '../../lib/worker/drain/engine.ts';
import type { DrainPorts, DrainSettings } from '../../lib/worker/drain/engine.ts';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Jobs in memory, with the claim condition of the real table and round trips of fake time. With
 * `serviceMs`, the server is one queue that serves a write in `serviceMs` and a read in twice that,
 * so many requests in flight wait their turn (as on a saturated DynamoDB Local).
 */
export class FakeTable {
  readonly jobs = new Map<string, { c: Candidate; status: 'pending' | 'processing' | 'completed'; worker?: string }>();
  readonly runs = new Map<string, number>();
  readonly claimOrder: string[] = [];
  /** Reads from a shard's head (sweeps and re-reads), and continuations after a cursor. */
  headReads = 0;
  appendReads = 0;
  claimsInFlight = 0;
  maxClaimsInFlight = 0;
  runsInFlight = 0;
  /** The most claims and runs in flight at once: the slots in use. */
  maxBusy = 0;

  private serverFreeAt = 0;

  constructor(
    readonly shardCount: number,
    readonly roundTripMs = 10,
    readonly serviceMs = 0,
  ) {}

  /** The request's way to the server, then its turn there and its service (`cost` writes' worth). */
  private async arrive(cost: number): Promise<void> {
    await sleep(this.roundTripMs / 2);
    if (this.serviceMs <= 0) return;
    const now = Date.now();
    this.serverFreeAt = Math.max(now, this.serverFreeAt) + cost * this.serviceMs;
    await sleep(this.serverFreeAt - now);
  }

  add(n: number, priority = 0, prefix = 'j'): void {
    for (let i = 0; i < n; i++) {
      const id = `${prefix}${i}`;
      const shard = i % this.shardCount;
      const c: Candidate = { id, shard, runOrder: `0#${1000 - priority}#${i}`, priority, runAtMs: i, status: 'pending', leaseUntilMs: null, timeoutMs: 1_000 };
      this.jobs.set(id, { c, status: 'pending' });
    }
  }

  async read(shard: number, from?: DueCursor, limit = 25): Promise<DueRead> {
    if (from) this.appendReads++;
    else this.headReads++;
    await this.arrive(from ? 1.5 : 2); // from the head: the ready range and the (empty) scheduled range
    const all = [...this.jobs.values()].filter((j) => j.c.shard === shard && j.status === 'pending').map((j) => j.c).sort(compareCandidates);
    const after = from?.ready?.id?.S;
    const start = after ? all.findIndex((c) => compareCandidates(c, this.jobs.get(after)!.c) > 0) : 0;
    const page = start < 0 ? [] : all.slice(start, start + limit);
    const more = start >= 0 && start + limit < all.length;
    // Running jobs sit among the entries a read pages through: those up to its last candidate.
    const last = page[page.length - 1];
    const leased = [...this.jobs.values()]
      .filter((j) => j.c.shard === shard && j.status === 'processing' && (!more || !last || compareCandidates(j.c, last) < 0))
      .map((j) => ({ id: j.c.id, runOrder: j.c.runOrder }));
    await sleep(this.roundTripMs / 2);
    return { candidates: page, queries: from ? 1 : 2, truncated: more, cursor: more ? { ready: { id: { S: last!.id } } } : null, nextDueMs: null, leased: from ? [] : leased };
  }

  async claim(worker: string, c: Candidate): Promise<ClaimAttempt> {
    this.maxClaimsInFlight = Math.max(this.maxClaimsInFlight, ++this.claimsInFlight);
    this.maxBusy = Math.max(this.maxBusy, this.claimsInFlight + this.runsInFlight);
    await this.arrive(1);
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
    this.maxBusy = Math.max(this.maxBusy, this.claimsInFlight + ++this.runsInFlight);
    await this.arrive(1); // the completion write
    this.jobs.get(c.id)!.status = 'completed';
    await sleep(this.roundTripMs / 2);
    this.runsInFlight--;
    return 'completed';
  }
}

export function loopOn(table: FakeTable, workerId: string, over: Partial<DrainSettings> = {}): DrainLoop {
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
    refreshEveryClaims: 8,
    refreshMinIntervalMs: 0,
    waitForDueWithinMs: 0,
    pollIntervalMs: 0,
    signal: undefined,
    wakeup: undefined,
    takeShardHints: undefined,
    ...over,
  };
  return new DrainLoop(ports, settings);
}

