/**
 * Attacks on the rate holes (docs/design.md, "Rate precision"): several workers (one LimitGate
 * each) share one in-memory GCRA item run by the real `rateStep`, on fake time; every start (the
 * moment `startOnTime` lets the handler run) is recorded, and no window of `intervalMs` may hold
 * more than `limit` of them. The simulation fails with the hole step disabled (a late job starting
 * without its hole: 21 starts in a window of the queue key limited to 20, seed 1, seen when written).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { rateStep } from '../../lib/model/limits.ts';
import type { RateLimit } from '../../lib/model/limits.ts';
import type { ClaimAttempt, ClaimFixed } from '../../lib/store/claim-job.ts';
import type { Candidate } from '../../lib/store/query-due.ts';
import type { LimitedEvent } from '../../lib/types.ts';
import { LimitGate } from '../../lib/worker/drain/limits.ts';
import type { LimitPorts } from '../../lib/worker/drain/limits.ts';

const rate: RateLimit = { limit: 20, intervalMs: 1_000 };
const candidate = (id: string, timeoutMs = 60_000): Candidate => ({ id, shard: 0, runOrder: `0#${id}`, priority: 0, runAtMs: 0, status: 'pending', leaseUntilMs: null, timeoutMs, group: 'g' });
const clock = { now: () => Date.now() };
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A claim that wins after `delayMs`, its job's lease counted from the reserved start as `claimJob` does. */
const winning = (c: Candidate, delayMs = 0) => async (fixed: ClaimFixed): Promise<ClaimAttempt> => {
  if (delayMs > 0) await sleep(delayMs);
  return { claim: { job: { id: c.id, leaseUntil: new Date((fixed.notBefore ?? Date.now()) + c.timeoutMs) } as never, token: fixed.token!, shard: 0, itemBytes: 0 } };
};

/** Rate items in memory with the conditions of `take-rate-token.ts` (tat, owner), run by the real GCRA step. */
function gcraPorts(writeMs: () => number = () => 0) {
  const seen = { holes: 0, givenBack: 0 };
  const items = new Map<string, { tat: number; owner: string | null }>();
  const wait = async () => {
    const ms = writeMs();
    if (ms > 0) await sleep(ms);
  };
  const ports: LimitPorts = {
    acquire: async () => ({ acquired: true }),
    release: async () => true,
    extend: async () => true,
    takeRate: async (id, r, _seen, token, count, lead) => {
      await wait();
      const tat = items.get(id)?.tat ?? null;
      const step = rateStep(r, tat, Date.now(), count, lead);
      if (step.kind === 'denied') return { granted: false, retryAtMs: step.retryAtMs, tat };
      items.set(id, { tat: step.newTat, owner: token });
      return { granted: true, startsAtMs: step.startsAtMs, tat: step.newTat };
    },
    giveBackRate: async (id, token, grantedTat, startAtMs) => {
      await wait();
      const item = items.get(id);
      if (item?.tat !== grantedTat || item.owner !== token) return false;
      item.tat = startAtMs;
      seen.givenBack++;
      return true;
    },
    pushRateBack: async (id, _seen, deltaMs, fromMs, beforeMs = Infinity) => {
      await wait();
      const item = items.get(id);
      if (!item) return { pushed: false, tat: null };
      const holeAtMs = Math.max(item.tat, fromMs);
      if (holeAtMs >= beforeMs) return { pushed: false, tat: item.tat };
      item.tat = Math.ceil(holeAtMs + deltaMs);
      seen.holes++;
      return { pushed: true, holeAtMs, tat: item.tat };
    },
  };
  return { ports, seen };
}

/** The most starts any window of `intervalMs` holds. */
function densest(starts: number[], r: RateLimit): { n: number; at: number } {
  const s = [...starts].sort((a, b) => a - b);
  let best = { n: 0, at: 0 };
  for (let i = 0, j = 0; i < s.length; i++) {
    while (s[i]! - s[j]! >= r.intervalMs) j++;
    if (i - j + 1 > best.n) best = { n: i - j + 1, at: s[j]! };
  }
  return best;
}

/** A worker that claims a job of the key whenever it may and starts it on time. */
async function busyWorker(gate: LimitGate, starts: number[], until: number, name: string, claimMs = 0): Promise<void> {
  for (let i = 0; Date.now() < until; i++) {
    const c = candidate(`${name}-${i}`);
    const a = await gate.claim(c, winning(c, claimMs));
    if (a.claim) void gate.run(a.claim.token, async () => void starts.push(Date.now()));
    else if ('blocked' in a) await sleep(Math.max(1, a.blocked.retryAt.getTime() - Date.now()));
    await sleep(3);
  }
}

beforeEach(() => vi.useFakeTimers({ now: 1_800_000_000_000 }));
afterEach(() => vi.useRealTimers());

describe('the last resort (a late job out of retakes before its deadline)', () => {
  it('is given back unstarted rather than put limit + 1 starts in a window (it started late and did)', async () => {
    const { ports } = gcraPorts();
    const starts: number[] = [];
    const a = new LimitGate('q', { group: { rate } }, ports, clock, 0);
    const others = [1, 2, 3, 4].map(() => new LimitGate('q', { group: { rate } }, ports, clock, 0));
    const j = candidate('j', 700); // a short job: its deadline comes before the key's next free start
    const claimed = a.claim(j, winning(j, 1_000)); // a slow claim: the job comes to its slot 600 ms late
    const end = Date.now() + 4_000;
    others.forEach((b, i) => void busyWorker(b, starts, end, `b${i}`, 170)); // slow claims: the others reserve far ahead
    let outcome = '';
    let event: LimitedEvent | undefined;
    const run = (async () => {
      const got = await claimed;
      if (!got.claim) throw new Error('expected a claim');
      outcome = await a.run(got.claim.token, async () => (starts.push(Date.now()), 'started'), undefined, async (e) => ((event = e), 'given back'));
    })();
    await vi.advanceTimersByTimeAsync(6_000);
    await run;
    expect(outcome).toBe('given back');
    // The drain emits this as the job's `limited` event (the JobsDelayedByLimit metric).
    expect(event).toMatchObject({ kind: 'limited', jobId: 'j', queue: 'q', group: 'g', limit: 'rate', scope: 'group' });
    const worst = densest(starts, rate);
    expect(worst.n, `at ${worst.at - 1_800_000_000_000}`).toBeLessThanOrEqual(rate.limit);
  });
});

/** A seeded random number in [0, 1). */
function seeded(seed: number): () => number {
  let x = seed;
  return () => ((x = (x * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
}

/**
 * Several workers with random claim times, random delays between claim and run (a busy event
 * loop), lost claims (their starts given back or kept as spares), slow writes, one queue-wide and
 * two group keys; the starts of each key, per key.
 */
async function simulate(seed: number, limits: { queue: RateLimit; group: RateLimit }, workers = 6, ms = 8_000) {
  const random = seeded(seed);
  const { ports, seen } = gcraPorts(() => (random() < 0.8 ? random() * 20 : random() * 150));
  const starts = new Map<string, number[]>();
  const record = (group: string) => {
    for (const key of ['q', group]) starts.set(key, [...(starts.get(key) ?? []), Date.now()]);
    return 'started';
  };
  const end = Date.now() + ms;
  const runs: Array<Promise<unknown>> = [];
  const worker = async (w: number) => {
    const gate = new LimitGate('q', { rate: limits.queue, group: { rate: limits.group } }, ports, clock, 0);
    for (let i = 0; Date.now() < end; i++) {
      const group = random() < 0.5 ? 'a' : 'b';
      const c = { ...candidate(`w${w}-${i}`, random() < 0.3 ? 600 + random() * 1_000 : 60_000), group };
      const claimMs = random() < 0.7 ? random() * 60 : random() * 900;
      const lost = random() < 0.1;
      const got = await gate.claim(c, async (fixed) => (lost ? (await sleep(claimMs), { claim: null, winner: 'other' }) : winning(c, claimMs)(fixed)));
      if (got.claim) {
        const token = got.claim.token;
        const busyMs = random() < 0.5 ? 0 : random() * 450;
        runs.push(sleep(busyMs).then(() => gate.run(token, async () => record(group), undefined, async () => 'given back')));
      } else if ('blocked' in got) await sleep(Math.max(1, got.blocked.retryAt.getTime() - Date.now()));
      await sleep(random() * 30);
    }
  };
  const all = Promise.all(Array.from({ length: workers }, (_, w) => worker(w)));
  await vi.advanceTimersByTimeAsync(ms + 10_000);
  await all;
  await Promise.all(runs);
  return { starts, holes: seen.holes, givenBack: seen.givenBack };
}

describe('several workers, random lateness (simulated)', () => {
  it('no key ever has more than its limit of starts in a window of its interval', async () => {
    const limits = { queue: { limit: 20, intervalMs: 1_000 }, group: { limit: 12, intervalMs: 1_000 } };
    let total = 0;
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const { starts, holes, givenBack } = await simulate(seed, limits);
      for (const [key, list] of starts) {
        const worst = densest(list, key === 'q' ? limits.queue : limits.group);
        expect(worst.n, `seed ${seed} key ${key} at ${worst.at}`).toBeLessThanOrEqual(key === 'q' ? limits.queue.limit : limits.group.limit);
      }
      expect(holes).toBeGreaterThan(0); // late jobs left holes
      expect(givenBack).toBeGreaterThan(0); // lost claims gave their starts back
      total += starts.get('q')?.length ?? 0;
    }
    expect(total).toBeGreaterThan(6 * 8 * 5); // the workers did start jobs (at least 5 a second)
  });
});
