/**
 * The drain's parts on fake time, without DynamoDB: the shard order, the memory of claims, the
 * per-shard contention state and the candidate source.
 */
import { describe, expect, it } from 'vitest';
import type { Candidate, DueCursor, DueRead } from '../../lib/store/query-due.ts';
import { CandidateSource } from '../../lib/worker/drain/candidates.ts';
import type { ShardAccess } from '../../lib/worker/drain/candidates.ts';
import { ClaimMemory } from '../../lib/worker/drain/claim-memory.ts';
import { ShardContention } from '../../lib/worker/drain/contention.ts';
import { IndexLagWatch, LAG_EVIDENCE_MS, LAG_MEMORY_MS } from '../../lib/worker/drain/index-lag.ts';
import { rendezvousScore, shardRanks } from '../../lib/worker/drain/shard-order.ts';

/** A clock the test moves by hand. */
function fakeClock(start = 1_000_000): { now(): number; advance(ms: number): void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

/** A candidate in `shard` with `priority`, due `n` ms after an epoch (older = smaller n). */
function cand(id: string, shard: number, priority = 0, n = 0, runOrder = `0#${1000 - priority}#${n}`): Candidate {
  return { id, shard, runOrder, priority, runAtMs: n, status: 'pending', leaseUntilMs: null, timeoutMs: 1_000 };
}

const read = (candidates: Candidate[], cursor: DueCursor | null = null, leased: Candidate[] = []): DueRead => ({
  candidates,
  queries: 1,
  truncated: cursor !== null,
  cursor,
  nextDueMs: null,
  leased: leased.map((c) => ({ id: c.id, runOrder: c.runOrder })),
});

/** Access with no windows, back-offs or cessions, unless overridden. */
const open = (over: Partial<ShardAccess> = {}): ShardAccess => ({ canClaim: () => true, isBackedOff: () => false, isCeded: () => false, isWorking: () => false, ...over });

describe('shard order (rendezvous hashing)', () => {
  it('gives every worker a permutation of the shards, the same every time', () => {
    const ranks = shardRanks('worker-a', 16);
    expect([...ranks].sort((a, b) => a - b)).toEqual(Array.from({ length: 16 }, (_, i) => i));
    expect(shardRanks('worker-a', 16)).toEqual(ranks);
  });

  it('starts different workers in different shards', () => {
    const tops = new Set(Array.from({ length: 8 }, (_, w) => shardRanks(`w${w}`, 16).indexOf(0)));
    expect(tops.size).toBeGreaterThanOrEqual(5); // 8 random picks of 16 would give about 6.4
  });

  it('scores in [0, 1) and differs by shard', () => {
    const scores = Array.from({ length: 16 }, (_, s) => rendezvousScore('x', s));
    for (const v of scores) expect(v >= 0 && v < 1).toBe(true);
    expect(new Set(scores).size).toBe(16);
  });
});

describe('ClaimMemory', () => {
  it('hides an entry while held and for a while after, then forgets it', () => {
    const clock = fakeClock();
    const m = new ClaimMemory(clock, 5_000);
    const c = cand('a', 0);
    expect(m.has(c)).toBe(false);
    m.hold(c);
    clock.advance(60_000);
    expect(m.has(c)).toBe(true); // held: however long it runs
    m.release(c);
    clock.advance(4_999);
    expect(m.has(c)).toBe(true);
    clock.advance(1);
    expect(m.has(c)).toBe(false);
    expect(m.size).toBe(0);
  });

  it('does not hide the same job under a new sort key (retried, so due again)', () => {
    const m = new ClaimMemory(fakeClock());
    m.hold(cand('a', 0, 0, 1));
    expect(m.has(cand('a', 0, 0, 1))).toBe(true);
    expect(m.has(cand('a', 0, 0, 2, '1#2#1000'))).toBe(false);
  });
});

describe('ShardContention', () => {
  it('opens a window of one claim, doubling with each claim won, up to the concurrency', () => {
    const c = new ShardContention(fakeClock(), 'me', { maxWindow: 6, initialWindow: 1 });
    const fill = () => {
      let n = 0;
      while (c.canClaim(3)) {
        c.started(3);
        n++;
      }
      return n;
    };
    expect(fill()).toBe(1);
    c.won(3);
    expect(fill()).toBe(2);
    c.won(3);
    c.won(3);
    expect(fill()).toBe(6); // 2 -> 4 -> 8, capped at 6
  });

  it('after a lost race backs off the shard, then cedes it for cedeMs', () => {
    const clock = fakeClock();
    const c = new ShardContention(clock, 'me', { maxWindow: 4, backoffBaseMs: 100, cedeMs: 1_000 });
    c.started(2);
    c.lost(2, 'other');
    expect(c.isBackedOff(2)).toBe(true);
    expect(c.canClaim(2)).toBe(false);
    expect(c.nextReopenAt()).toBe(clock.now() + 100);
    clock.advance(100);
    expect(c.isBackedOff(2)).toBe(false);
    expect(c.isCeded(2)).toBe(true);
    expect(c.canClaim(5)).toBe(true); // other shards are untouched
    c.started(2);
    c.lost(2, 'other');
    expect(c.nextReopenAt()).toBe(clock.now() + 200); // doubled: a second loss in a row
    clock.advance(1_000);
    expect(c.isCeded(2)).toBe(false);
  });

  it('cedes a shard on sight of another worker’s leases, unless it is working that shard itself', () => {
    const clock = fakeClock();
    const c = new ShardContention(clock, 'me', { maxWindow: 8, cedeMs: 1_000 });
    c.othersSeen(4);
    expect(c.isCeded(4)).toBe(true);
    expect(c.isBackedOff(4)).toBe(false); // no race was lost: it may still claim there if nothing else is left
    c.started(4);
    expect(c.canClaim(4)).toBe(false); // entering it later, one claim at a time
    c.won(4);
    clock.advance(1_000);
    c.started(7);
    c.won(7);
    c.othersSeen(7); // just won a claim in 7: it works that shard, another worker is the newcomer
    expect(c.isCeded(7)).toBe(false);
  });

  it('does not back off after losing to itself (its own claim, seen again through a lagging index)', () => {
    const c = new ShardContention(fakeClock(), 'me', { maxWindow: 4 });
    c.started(1);
    c.lost(1, 'me');
    expect(c.isBackedOff(1)).toBe(false);
    expect(c.isCeded(1)).toBe(false);
  });
});

/** A source over fixed shard contents; reads resolve when the test says. */
function sourceOver(
  shards: Record<number, DueRead>,
  opts: {
    ranks?: number[];
    exclude?: (c: Candidate) => boolean;
    readAheadBelow?: number;
    own?: Set<string>;
    sweepConcurrency?: number;
    lag?: (clock: ReturnType<typeof fakeClock>) => IndexLagWatch;
  } = {},
) {
  const othersSeen: number[] = [];
  const clock = fakeClock();
  const lag = opts.lag?.(clock);
  const reads: Array<{ shard: number; from?: DueCursor; resolve: (r: DueRead) => void }> = [];
  let changes = 0;
  const source = new CandidateSource({
    read: (shard, from) => new Promise<DueRead>((resolve) => reads.push({ shard, ...(from ? { from } : {}), resolve })),
    clock,
    ranks: opts.ranks ?? Array.from({ length: 4 }, (_, i) => i),
    exclude: opts.exclude ?? (() => false),
    maxAgeMs: 1_000,
    readAheadBelow: opts.readAheadBelow ?? 1,
    readConcurrency: 8,
    ...(opts.sweepConcurrency ? { sweepConcurrency: opts.sweepConcurrency } : {}),
    onChange: () => void changes++,
    isOwn: (e) => opts.own?.has(e.id) ?? false,
    onOthersSeen: (shard) => void othersSeen.push(shard),
    ...(lag ? { lag } : {}),
  });
  /** Sweeps every shard, answering each read from `shards`. */
  const sweep = async () => {
    const done = source.sweep(Object.keys(shards).map(Number));
    for (let i = 0; i < 10 && reads.length > 0; i++) {
      await Promise.resolve();
      for (const r of reads.splice(0)) r.resolve(shards[r.shard] ?? read([]));
    }
    return done;
  };
  const settle = async () => {
    for (let i = 0; i < 5; i++) await Promise.resolve();
  };
  return { source, clock, reads, sweep, settle, changes: () => changes, othersSeen, lag };
}

const take = (s: CandidateSource, access: ShardAccess = open(), n = 100): string[] => {
  const ids: string[] = [];
  for (let c = s.next(access); c && ids.length < n; c = s.next(access)) ids.push(c.id);
  return ids;
};

describe('CandidateSource', () => {
  it('takes the highest priority across shards first; among equals, this worker’s preferred shard', async () => {
    const { source, sweep } = sourceOver(
      {
        0: read([cand('a0', 0, 0, 1), cand('a1', 0, 0, 2)]),
        1: read([cand('b-high', 1, 10, 5), cand('b0', 1, 0, 0)]),
        2: read([cand('c0', 2, 0, 0)]),
      },
      { ranks: [1, 2, 0, 3] }, // this worker prefers shard 2, then 0, then 1
    );
    await sweep();
    expect(take(source)).toEqual(['b-high', 'c0', 'a0', 'a1', 'b0']);
  });

  it('waits for the best shard’s claim window instead of spreading claims over other shards', async () => {
    const { source, sweep } = sourceOver({ 0: read([cand('a0', 0), cand('a1', 0)]), 1: read([cand('b0', 1)]) });
    await sweep();
    let inFlight = 0;
    const access = open({ canClaim: (shard) => shard !== 0 || inFlight < 1 });
    expect(source.next(access)?.id).toBe('a0');
    inFlight = 1;
    expect(source.next(access)).toBeNull(); // shard 0 still has a1: wait for it, not b0
    inFlight = 0;
    expect(take(source, access)).toEqual(['a1', 'b0']);
  });

  it('keeps to its own shards while they have work; ceded ones only after; backed-off ones never', async () => {
    const { source, sweep } = sourceOver({ 0: read([cand('a0', 0)]), 1: read([cand('b0', 1)]), 2: read([cand('c0', 2)]) });
    await sweep();
    const access = open({ isCeded: (s) => s === 0, isBackedOff: (s) => s === 1 });
    expect(take(source, access)).toEqual(['c0', 'a0']);
    expect(source.hasWork()).toBe(true); // b0, in the backed-off shard
  });

  it('reports a shard whose head shows jobs leased by another worker, not by itself', async () => {
    const { sweep, othersSeen } = sourceOver(
      { 0: read([cand('a2', 0)], null, [cand('mine', 0)]), 1: read([cand('b2', 1)], null, [cand('theirs', 1)]) },
      { own: new Set(['mine']) },
    );
    await sweep();
    expect(othersSeen).toEqual([1]);
  });

  it('skips candidates this worker holds or has just tried', async () => {
    const held = new Set(['a0']);
    const { source, sweep } = sourceOver({ 0: read([cand('a0', 0), cand('a1', 0)]) }, { exclude: (c) => held.has(c.id) });
    await sweep();
    expect(take(source)).toEqual(['a1']);
  });

  it('continues a list running low after its cursor in the background and appends what it finds', async () => {
    const cursor: DueCursor = { ready: { id: { S: 'a1' } } };
    const { source, sweep, reads, settle } = sourceOver({ 0: read([cand('a0', 0, 0, 0), cand('a1', 0, 0, 1)], cursor) }, { readAheadBelow: 2 });
    await sweep();
    expect(source.next(open())?.id).toBe('a0'); // 1 left, below 2: a read after the cursor starts
    expect(reads).toHaveLength(1);
    expect(reads[0]!.from).toEqual(cursor);
    expect(source.next(open())?.id).toBe('a1'); // still claimable meanwhile
    expect(source.next(open())).toBeNull(); // used up, the read under way
    reads.splice(0)[0]!.resolve(read([cand('a2', 0, 0, 2)]));
    await settle();
    expect(take(source)).toEqual(['a2']);
    expect(source.hasWork()).toBe(false);
  });

  it('reads a stale list again from the head before claiming from it', async () => {
    const { source, sweep, reads, settle, clock } = sourceOver({ 0: read([cand('a0', 0), cand('a1', 0)]) });
    await sweep();
    clock.advance(1_001);
    expect(source.next(open())).toBeNull();
    expect(reads).toHaveLength(1);
    expect(reads[0]!.from).toBeUndefined();
    reads.splice(0)[0]!.resolve(read([cand('a1', 0)])); // another worker took a0 meanwhile
    await settle();
    expect(take(source)).toEqual(['a1']);
  });

  it('claims on from an old list of the shard it is working, refreshing it in the background', async () => {
    const { source, sweep, reads, settle, clock } = sourceOver({ 0: read([cand('a0', 0), cand('a1', 0), cand('a2', 0)]) });
    await sweep();
    clock.advance(1_001);
    const working = open({ isWorking: (s) => s === 0 });
    expect(source.next(working)?.id).toBe('a0'); // no round trip lost waiting for the re-read
    expect(reads).toHaveLength(1);
    expect(reads[0]!.from).toBeUndefined(); // from the head
    expect(source.next(working)?.id).toBe('a1');
    reads.splice(0)[0]!.resolve(read([cand('a2', 0), cand('a3', 0)]));
    await settle();
    expect(take(source, working)).toEqual(['a2', 'a3']);
  });

  it('while re-reads of stale lists find nothing, re-reads the next ones in pick order with them, not one per round trip', async () => {
    const shards = Object.fromEntries(Array.from({ length: 10 }, (_, s) => [s, read([cand(`s${s}`, s)])]));
    const { source, sweep, reads, settle, clock } = sourceOver(shards, { ranks: Array.from({ length: 10 }, (_, i) => i), sweepConcurrency: 16 });
    await sweep();
    clock.advance(1_001);
    const round = async (found: Record<number, Candidate[]> = {}) => {
      expect(source.next(open())).toBeNull();
      const shardsRead = reads.map((r) => r.shard);
      for (const r of reads.splice(0)) r.resolve(read(found[r.shard] ?? [])); // others emptied them
      await settle();
      return shardsRead;
    };
    expect(await round()).toEqual([0]); // a shard switch reads one list: the next one usually has work
    expect(await round()).toEqual([1, 2]);
    expect(await round()).toEqual([3, 4, 5, 6]); // STALE_REREADS_AT_ONCE
    expect(await round({ 8: [cand('s8-new', 8)] })).toEqual([7, 8, 9]);
    expect(take(source)).toEqual(['s8-new']);
  });

  it('with work left only in a backed-off shard, reads it again a quarter second on, not after the back-off', async () => {
    const { source, sweep, reads, settle, clock } = sourceOver({ 0: read([cand('a0', 0), cand('a1', 0)]) });
    await sweep();
    const backedOff = open({ isBackedOff: () => true });
    clock.advance(249);
    expect(source.next(backedOff)).toBeNull();
    expect(reads).toHaveLength(0);
    expect(source.recheckAt).toBe(clock.now() + 1); // the drain wakes then
    clock.advance(1);
    expect(source.next(backedOff)).toBeNull();
    expect(reads).toHaveLength(1);
    reads.splice(0)[0]!.resolve(read([])); // the winner took them all
    await settle();
    expect(source.hasWork()).toBe(false); // the drain can end without waiting out the back-off
    expect(source.recheckAt).toBe(Infinity);
  });

  it('reads a backed-off shard that still shows work again half as often each time (a lagging index shows what the winner took)', async () => {
    const { source, sweep, reads, settle, clock } = sourceOver({ 0: read([cand('a0', 0), cand('a1', 0)]) });
    await sweep();
    const backedOff = open({ isBackedOff: () => true });
    const readsAfter = async (ms: number) => {
      clock.advance(ms);
      expect(source.next(backedOff)).toBeNull();
      const n = reads.length;
      for (const r of reads.splice(0)) r.resolve(read([cand('a0', 0), cand('a1', 0)])); // still there, as the index says
      await settle();
      return n;
    };
    expect(await readsAfter(250)).toBe(1);
    expect(await readsAfter(250)).toBe(0);
    expect(await readsAfter(250)).toBe(1); // 500 ms after the last read
    expect(await readsAfter(500)).toBe(0);
    expect(await readsAfter(500)).toBe(1); // 1,000 ms
  });

  it('sends a sweep’s reads of every shard together (sweepConcurrency), not in batches of readConcurrency', async () => {
    const shards = Object.fromEntries(Array.from({ length: 16 }, (_, s) => [s, read([cand(`s${s}`, s)])]));
    const { source, reads, settle } = sourceOver(shards, { ranks: Array.from({ length: 16 }, (_, i) => i), sweepConcurrency: 16 });
    const done = source.sweep(Array.from({ length: 16 }, (_, i) => i));
    await settle();
    expect(reads).toHaveLength(16);
    for (const r of reads.splice(0)) r.resolve(shards[r.shard]!);
    await done;
    expect(take(source)).toHaveLength(16);
  });

  it('re-reads one shard after another in the background while claims go on', async () => {
    const { source, sweep, reads, settle } = sourceOver({ 0: read([cand('a0', 0), cand('a1', 0)]), 1: read([]) });
    await sweep();
    source.refreshNext(2);
    expect(reads.map((r) => r.shard)).toEqual([0]);
    expect(source.next(open())?.id).toBe('a0'); // not blocked by the refresh
    source.refreshNext(2);
    expect(reads.map((r) => r.shard)).toEqual([0, 1]);
    for (const r of reads.splice(0)) r.resolve(r.shard === 1 ? read([cand('b-high', 1, 50)]) : read([cand('a1', 0)]));
    await settle();
    expect(take(source)).toEqual(['b-high', 'a1']);
  });
});

/** A read of `candidates` that also shows a job another worker leased at `claimedAt` (timeout 1 s, no grace). */
const readWithLease = (candidates: Candidate[], claimedAt: number): DueRead => ({
  ...read(candidates),
  leased: [{ id: 'theirs', runOrder: '0#1000#0', leaseUntilMs: claimedAt + 1_000, timeoutMs: 1_000 }],
});

describe('IndexLagWatch', () => {
  it('learns that the index lags from its own claim shown claimable by a read sent after the claim was answered', () => {
    const clock = fakeClock();
    const lag = new IndexLagWatch(clock, 0);
    lag.ownClaimSeen({ seenAtMs: clock.now() - 10 }, clock.now()); // read sent before the answer: no evidence
    expect(lag.lagging).toBe(false);
    lag.ownClaimSeen({ seenAtMs: clock.now() + 300 }, clock.now());
    expect(lag.lagging).toBe(true);
    expect(lag.lagMs).toBe(300);
    clock.advance(LAG_MEMORY_MS + 1);
    expect(lag.lagging).toBe(false); // evidence is forgotten
  });

  it('learns it from a lost race only when the winner claimed well before the read was sent', () => {
    const clock = fakeClock();
    const lag = new IndexLagWatch(clock, 0);
    lag.lostTo({ seenAtMs: clock.now() }, clock.now() - LAG_EVIDENCE_MS); // a race of the moment
    expect(lag.lagging).toBe(false);
    lag.lostTo({ seenAtMs: clock.now() }, undefined);
    expect(lag.lagging).toBe(false);
    lag.lostTo({ seenAtMs: clock.now() }, clock.now() - 330);
    expect(lag.lagging).toBe(true);
    expect(lag.lagMs).toBe(330);
  });
});

describe('CandidateSource under index lag', () => {
  it('does not claim in a shard another worker is draining once the index is known to lag; reads it again until that worker is done', async () => {
    const t0 = 1_000_000; // the fake clock's start
    const { source, sweep, reads, settle, clock, lag } = sourceOver(
      { 0: readWithLease([cand('a0', 0), cand('a1', 0)], t0 - 100), 1: read([cand('b0', 1)]) },
      { lag: (c) => new IndexLagWatch(c, 0) },
    );
    await sweep();
    lag!.lostTo({ seenAtMs: clock.now() }, clock.now() - 300); // a race lost to a claim the index did not show
    expect(take(source)).toEqual(['b0']); // shard 0's head is what the other worker claimed lately
    expect(source.hasWork()).toBe(true);
    clock.advance(250);
    expect(source.next(open())).toBeNull();
    expect(reads.map((r) => r.shard)).toEqual([0]); // read again, as a backed-off shard is
    reads.splice(0)[0]!.resolve(readWithLease([cand('a1', 0)], clock.now() - 50)); // still draining
    await settle();
    expect(source.next(open())).toBeNull();
    clock.advance(500);
    expect(source.next(open())).toBeNull();
    reads.splice(0)[0]!.resolve(read([cand('a1', 0)])); // done: no lease of another worker left
    await settle();
    expect(take(source)).toEqual(['a1']);
  });

  it('reads a distrusted shard again every half second at most while its drainer works (not 1, 2, 4 s as a backed-off one)', async () => {
    const t0 = 1_000_000;
    const { source, sweep, reads, settle, clock, lag } = sourceOver({ 0: readWithLease([cand('a0', 0)], t0 - 100) }, { lag: (c) => new IndexLagWatch(c, 0) });
    await sweep();
    lag!.lostTo({ seenAtMs: clock.now() }, clock.now() - 300);
    const readsAfter = async (ms: number) => {
      clock.advance(ms);
      expect(source.next(open())).toBeNull();
      const n = reads.length;
      for (const r of reads.splice(0)) r.resolve(readWithLease([cand('a0', 0)], clock.now() - 50)); // still draining
      await settle();
      return n;
    };
    expect(await readsAfter(250)).toBe(1);
    expect(await readsAfter(499)).toBe(0);
    expect(await readsAfter(1)).toBe(1); // 500 ms
    expect(await readsAfter(500)).toBe(1); // 500 ms again
    expect(await readsAfter(500)).toBe(1);
  });

  it('claims there as before while the index is not known to lag, or when the other lease is old', async () => {
    const t0 = 1_000_000;
    const fresh = sourceOver({ 0: readWithLease([cand('a0', 0)], t0 - 100) }, { lag: (c) => new IndexLagWatch(c, 0) });
    await fresh.sweep();
    expect(take(fresh.source)).toEqual(['a0']);
    const old = sourceOver({ 0: readWithLease([cand('a0', 0)], t0 - 60_000) }, { lag: (c) => new IndexLagWatch(c, 0) });
    await old.sweep();
    old.lag!.lostTo({ seenAtMs: old.clock.now() }, old.clock.now() - 300);
    expect(take(old.source)).toEqual(['a0']); // a long job's lease: nobody is draining the shard
  });
});

describe('CandidateSource sweeps', () => {
  it('with freshSince, does not read again a shard found empty since then; reads it once it is a list age old, invalidated, or read before', async () => {
    const t0 = 1_000_000; // the fake clock's start
    const { source, sweep, reads, settle, clock } = sourceOver({ 0: read([]), 1: read([cand('b0', 1)]), 2: { ...read([]), nextDueMs: t0 + 5_000 } });
    await sweep();
    expect(take(source)).toEqual(['b0']);
    const sweepAgain = async (since: number): Promise<number[]> => {
      const done = source.sweep([0, 1, 2], since);
      await settle();
      const shards = reads.map((r) => r.shard);
      for (const r of reads.splice(0)) r.resolve(read([]));
      await done;
      return shards;
    };
    clock.advance(100);
    expect(await sweepAgain(t0)).toEqual([]); // all three read since t0, 100 ms ago, and used up
    const swept = await source.sweep([0, 1, 2], t0);
    expect(swept.nextByShard.get(2)).toBe(t0 + 5_000); // what the skipped read saw still counts
    source.invalidate(1); // a race was lost there
    expect(await sweepAgain(t0)).toEqual([1]);
    expect(await sweepAgain(t0 + 50)).toEqual([0, 2]); // a job ended after those reads: read again
    clock.advance(1_001);
    expect(await sweepAgain(t0)).toEqual([0, 1, 2]); // a list age old
    expect(await sweepAgain(t0)).toEqual([]);
  });

  it('reads every shard without freshSince, and a shard that still has candidates or a cursor even with it', async () => {
    const { source, sweep, reads, settle } = sourceOver({ 0: read([]), 1: read([cand('b0', 1)]), 2: read([], { ready: { id: { S: 'x' } } }) });
    await sweep();
    const done = source.sweep([0, 1, 2], -Infinity);
    await settle();
    expect(reads.map((r) => r.shard)).toEqual([1, 2]);
    for (const r of reads.splice(0)) r.resolve(read([]));
    await done;
    const all = source.sweep([0, 1, 2]);
    await settle();
    expect(reads.map((r) => r.shard)).toEqual([0, 1, 2]);
    for (const r of reads.splice(0)) r.resolve(read([]));
    await all;
  });
});
