/**
 * Rate limits under faults and awkward interleavings, on fake ports and fake time: a give-back
 * that fails, a job that retakes one of two rate keys, retakes that would outlast the job's lease.
 * Each test here failed before the fix that came with it.
 */
import { getEventListeners } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { rateRetakeAfterMs, rateStep } from '../../lib/model/limits.ts';
import type { RateLimit } from '../../lib/model/limits.ts';
import type { ClaimAttempt, ClaimFixed } from '../../lib/store/claim-job.ts';
import type { Candidate } from '../../lib/store/query-due.ts';
import { LimitGate } from '../../lib/worker/drain/limits.ts';
import type { LimitPorts } from '../../lib/worker/drain/limits.ts';

const rate: RateLimit = { limit: 20, intervalMs: 1_000 };
const candidate = (id: string, group = 'g', timeoutMs = 60_000): Candidate => ({ id, shard: 0, runOrder: `0#${id}`, priority: 0, runAtMs: 0, status: 'pending', leaseUntilMs: null, timeoutMs, group });
const clock = { now: () => Date.now() };

/** A claim that wins, its job's lease counted from the reserved start as `claimJob` does. */
const winning = (c: Candidate, graceMs = 0) => async (fixed: ClaimFixed): Promise<ClaimAttempt> => ({
  claim: { job: { id: c.id, leaseUntil: new Date((fixed.notBefore ?? Date.now()) + c.timeoutMs + graceMs) } as never, token: fixed.token!, shard: 0, itemBytes: 0 },
});

/** Rate items in memory, run by the real GCRA step; every start granted is recorded per key. */
function gcraPorts() {
  const tats = new Map<string, number>();
  const granted: Record<string, number[]> = {};
  const pushes: Array<{ id: string; deltaMs: number }> = [];
  const ports: LimitPorts = {
    acquire: async () => ({ acquired: true }),
    release: async () => true,
    extend: async () => true,
    takeRate: async (id, r, _seen, _owner, count, lead) => {
      const step = rateStep(r, tats.get(id) ?? null, Date.now(), count, lead);
      if (step.kind === 'denied') return { granted: false, retryAtMs: step.retryAtMs, tat: tats.get(id) ?? null };
      tats.set(id, step.newTat);
      (granted[id] ??= []).push(...step.startsAtMs);
      return { granted: true, startsAtMs: step.startsAtMs, tat: step.newTat };
    },
    giveBackRate: async () => false,
    pushRateBack: async (id, _seen, deltaMs, fromMs, beforeMs = Infinity) => {
      const current = tats.get(id) ?? null;
      if (current === null) return { pushed: false, tat: null };
      const holeAtMs = Math.max(current, fromMs);
      if (holeAtMs >= beforeMs) return { pushed: false, tat: current };
      pushes.push({ id, deltaMs });
      const tat = Math.ceil(holeAtMs + deltaMs);
      tats.set(id, tat);
      return { pushed: true, holeAtMs, tat };
    },
  };
  return { ports, tats, granted, pushes };
}

beforeEach(() => vi.useFakeTimers({ now: 1_800_000_000_000 }));
afterEach(() => vi.useRealTimers());

describe('a start given back after a lost claim', () => {
  it('is never kept as a spare twice when a release write fails (two jobs would share one start)', async () => {
    let releases = 0;
    const ports: LimitPorts = {
      ...gcraPorts().ports,
      release: async () => {
        if (++releases === 1) throw new Error('socket hang up');
        return true;
      },
    };
    const gate = new LimitGate('q', { group: { concurrency: 5, rate } }, ports, clock, 0);
    const lost = gate.claim(candidate('lost'), async () => ({ claim: null, winner: 'other' }));
    await expect(lost).rejects.toThrow('socket hang up');
    const notBefore: number[] = [];
    for (const id of ['a', 'b']) {
      const c = candidate(id);
      await gate.claim(c, (fixed) => (notBefore.push(fixed.notBefore!), winning(c)(fixed)));
    }
    expect(new Set(notBefore).size).toBe(2);
  });
});

describe('a late job with two rate keys (the queue and its group)', () => {
  it('retaking one key never leaves the other more than rateRetakeAfterMs late', async () => {
    const { ports, tats, granted, pushes } = gcraPorts();
    const queueKey = 'limit#rate#q';
    const groupKey = 'limit#rate#q#g';
    const gate = new LimitGate('q', { rate, group: { rate } }, ports, clock, 0);
    const c = candidate('j');
    const attempt = await gate.claim(c, async (fixed) => {
      vi.setSystemTime(Date.now() + 300); // a slow claim
      tats.set(groupKey, Date.now() + 900); // meanwhile other workers reserved the group's next starts
      return winning(c)(fixed);
    });
    if (!attempt.claim) throw new Error('expected a claim');
    let startedAt = 0;
    const run = gate.run(attempt.claim.token, async () => void (startedAt = Date.now()));
    await vi.runAllTimersAsync();
    await run;
    for (const key of [queueKey, groupKey]) {
      const slot = granted[key]!.at(-1)!;
      expect(startedAt - slot, key).toBeGreaterThanOrEqual(0);
      expect(startedAt - slot, key).toBeLessThanOrEqual(rateRetakeAfterMs(rate));
    }
    expect(pushes.every((p) => p.deltaMs < rateRetakeAfterMs(rate))).toBe(true);
  });
});

describe('retakes and the job lease', () => {
  it('a job refused new starts never waits for one past the deadline of its claim (its lease would end before it starts)', async () => {
    const { ports } = gcraPorts();
    let takes = 0;
    const refusing: LimitPorts = {
      ...ports,
      // The first start is granted; every retake is refused for a while (other workers keep the key full).
      takeRate: async (...args) => (++takes === 1 || takes > 4 ? ports.takeRate(...args) : { granted: false, retryAtMs: Date.now() + 400, tat: Date.now() + 900 }),
    };
    const gate = new LimitGate('q', { group: { rate } }, refusing, clock, 0);
    const c = candidate('j', 'g', 500);
    let leaseEnd = 0;
    const attempt = await gate.claim(c, async (fixed) => {
      const won = await winning(c)(fixed);
      leaseEnd = won.claim!.job.leaseUntil!.getTime();
      vi.setSystemTime(Date.now() + 300); // the claim's answer came late
      return won;
    });
    if (!attempt.claim) throw new Error('expected a claim');
    let startedAt = 0;
    const run = gate.run(attempt.claim.token, async () => void (startedAt = Date.now()));
    await vi.runAllTimersAsync();
    await run;
    expect(startedAt).toBeGreaterThan(0);
    expect(startedAt).toBeLessThan(leaseEnd);
  });
});

describe('a long-lived worker', () => {
  it('leaves no listener on the shutdown signal once a job has waited for its rate start', async () => {
    const { ports } = gcraPorts();
    const gate = new LimitGate('q', { group: { rate } }, ports, clock, 0);
    const shutdown = new AbortController();
    for (let i = 0; i < 20; i++) {
      const c = candidate(`j${i}`);
      const attempt = await gate.claim(c, winning(c));
      if (!attempt.claim) throw new Error('expected a claim');
      const run = gate.run(attempt.claim.token, async () => {}, shutdown.signal);
      await vi.runAllTimersAsync();
      await run;
    }
    expect(getEventListeners(shutdown.signal, 'abort')).toHaveLength(0);
  });
});
