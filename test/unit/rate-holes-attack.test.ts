/**
 * Attacks on the rate holes (docs/design.md, "Rate precision"): several workers (one LimitGate
 * each) share one in-memory GCRA item run by the real `rateStep`, on fake time; every start (the
 * moment `startOnTime` lets the handler run) is recorded, and no window of `intervalMs` may hold
 * more than `limit` of them.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { rateStep } from '../../lib/model/limits.ts';
import type { RateLimit } from '../../lib/model/limits.ts';
import type { ClaimAttempt, ClaimFixed } from '../../lib/store/claim-job.ts';
import type { Candidate } from '../../lib/store/query-due.ts';
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

/** One rate item in memory with the conditions of `take-rate-token.ts` (tat, owner), run by the real GCRA step. */
function gcraPorts(writeMs: () => number = () => 0) {
  let tat: number | null = null;
  let owner: string | null = null;
  const wait = async () => {
    const ms = writeMs();
    if (ms > 0) await sleep(ms);
  };
  const ports: LimitPorts = {
    acquire: async () => ({ acquired: true }),
    release: async () => true,
    extend: async () => true,
    takeRate: async (_id, r, _seen, token, count, lead) => {
      await wait();
      const step = rateStep(r, tat, Date.now(), count, lead);
      if (step.kind === 'denied') return { granted: false, retryAtMs: step.retryAtMs, tat };
      tat = step.newTat;
      owner = token;
      return { granted: true, startsAtMs: step.startsAtMs, tat: step.newTat };
    },
    giveBackRate: async (_id, token, grantedTat, startAtMs) => {
      await wait();
      if (tat !== grantedTat || owner !== token) return false;
      tat = startAtMs;
      return true;
    },
    pushRateBack: async (_id, _seen, deltaMs, fromMs, beforeMs = Infinity) => {
      await wait();
      if (tat === null) return { pushed: false, tat: null };
      const holeAtMs = Math.max(tat, fromMs);
      if (holeAtMs >= beforeMs) return { pushed: false, tat };
      tat = Math.ceil(holeAtMs + deltaMs);
      return { pushed: true, holeAtMs, tat };
    },
  };
  return { ports, tat: () => tat };
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
    const run = (async () => {
      const got = await claimed;
      if (!got.claim) throw new Error('expected a claim');
      outcome = await a.run(got.claim.token, async () => (starts.push(Date.now()), 'started'), undefined, async () => 'given back');
    })();
    await vi.advanceTimersByTimeAsync(6_000);
    await run;
    expect(outcome).toBe('given back');
    const worst = densest(starts, rate);
    expect(worst.n, `at ${worst.at - 1_800_000_000_000}`).toBeLessThanOrEqual(rate.limit);
  });
});
