/**
 * The pure parts of flow control: limit validation, limit item ids, the GCRA step, the dashboard's
 * summary of running / limit per group, and the drain's gate on fake ports and time (slots
 * released however a run ends, a lost claim giving everything back, a worker never asking past a
 * limit itself).
 */
import { describe, expect, it } from 'vitest';
import { LimitsError } from '../../lib/errors.ts';
import { hasLimits, limitItemId, maxReserveMs, rateLatenessMs, rateRetakeAfterMs, rateRetryAtMs, rateSpacingMs, rateStep, startLeadMs, validateLimits } from '../../lib/model/limits.ts';
import { summarizeLimits } from '../../lib/local/limit-overview.ts';
import type { ClaimAttempt, ClaimFixed } from '../../lib/store/claim-job.ts';
import type { Candidate } from '../../lib/store/query-due.ts';
import { LimitGate } from '../../lib/worker/drain/limits.ts';
import type { LimitPorts } from '../../lib/worker/drain/limits.ts';
import { RateStarts } from '../../lib/worker/drain/rate-starts.ts';

describe('validateLimits', () => {
  it('accepts a full map and freezes it', () => {
    const v = validateLimits({ q: { concurrency: 5, rate: { limit: 10, intervalMs: 1000 }, group: { concurrency: 2, rate: { limit: 1, intervalMs: 60_000 } } } });
    expect(v.q!.group!.concurrency).toBe(2);
    expect(Object.isFrozen(v)).toBe(true);
    expect(hasLimits(v.q)).toBe(true);
    expect(hasLimits({})).toBe(false);
    expect(hasLimits({ group: {} })).toBe(false);
    // FIFO is decided at enqueue and carried by the job: the drain's limit gate is not needed for it.
    expect(hasLimits(validateLimits({ q: { group: { fifo: true } } }).q)).toBe(false);
  });

  it.each([
    [{ q: { concurrency: 1.5 } }, 'limits.q.concurrency', 'an integer from 1 to 100'],
    [{ q: { rate: { limit: 600, intervalMs: 1000 } } }, 'limits.q.rate.limit', 'at most 500 starts per second'],
    [{ q: { rate: { limit: 1, intervalMs: 0 } } }, 'limits.q.rate.intervalMs', 'an integer from 1 to 86400000'],
    [{ q: { group: { fifo: 'yes' } } }, 'limits.q.group.fifo', 'true or false'],
    [{ q: { group: { order: true } } }, 'limits.q.group.order', 'one of concurrency, rate, fifo'],
    [{ q: [] }, 'limits.q', 'an object'],
    [[], 'limits', 'an object'],
  ])('%j is refused naming %s', (value, field, limit) => {
    let err: unknown;
    try {
      validateLimits(value);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LimitsError);
    expect((err as LimitsError).field).toBe(field);
    expect((err as LimitsError).limit).toContain(limit);
  });
});

describe('limit item ids', () => {
  it('never look like a job id and keep queue and group apart', () => {
    expect(limitItemId('concurrency', 'emails')).toBe('limit#concurrency#emails');
    expect(limitItemId('rate', 'emails', 'tenant:1')).toBe('limit#rate#emails#tenant:1');
    expect(limitItemId('concurrency', 'emails', null)).toBe('limit#concurrency#emails');
  });
});

describe('rateStep (GCRA without burst)', () => {
  const rate = { limit: 20, intervalMs: 1_000 };
  it('spaces starts by the interval plus its margin over the limit', () => {
    expect(rateSpacingMs(rate)).toBeCloseTo(1_050 / 20);
    const s = rateStep(rate, null, 0, 3);
    expect(s.kind).toBe('granted');
    if (s.kind !== 'granted') return;
    expect(s.startsAtMs[1]! - s.startsAtMs[0]!).toBeGreaterThanOrEqual(52);
    expect(s.newTat).toBeGreaterThanOrEqual(s.startsAtMs[2]! + 52);
  });

  it('grants only the starts within the reservation window, and refuses until the next comes within reach', () => {
    const s = rateStep(rate, null, 0, 100);
    if (s.kind !== 'granted') throw new Error('expected a grant');
    expect(s.startsAtMs.length).toBeLessThan(100);
    expect(s.startsAtMs.at(-1)! - 0).toBeLessThanOrEqual(maxReserveMs(rate));
    const next = rateStep(rate, s.newTat, 0);
    if (next.kind !== 'denied') throw new Error('expected a refusal');
    // Back once the next start is within reach, and early enough that the lead still reaches it.
    expect(next.retryAtMs).toBeGreaterThanOrEqual(s.newTat - maxReserveMs(rate));
    expect(next.retryAtMs).toBeLessThanOrEqual(s.newTat - startLeadMs(rate) - 100);
  });

  it('never lets any interval hold more than the limit (starts at their slots)', () => {
    let tat: number | null = null;
    const starts: number[] = [];
    for (let now = 0; now < 10_000; now += 7) {
      const s = rateStep(rate, tat, now, 4);
      if (s.kind === 'granted') {
        starts.push(...s.startsAtMs);
        tat = s.newTat;
      }
    }
    starts.sort((a, b) => a - b);
    for (let i = 0; i + rate.limit < starts.length; i++) expect(starts[i + rate.limit]! - starts[i]!).toBeGreaterThanOrEqual(rate.intervalMs);
    expect(starts.filter((t) => t < 10_000).length).toBeGreaterThanOrEqual(180);
  });
});

describe('summarizeLimits (the dashboard panel)', () => {
  it('counts running / limit per group and the due jobs waiting on a full group or queue', () => {
    const e = (group: string | null, running: boolean, due = !running) => ({ group, running, due });
    const view = summarizeLimits('q', { group: { concurrency: 2 } }, [e('a', true), e('a', true), e('a', false), e('b', true), e('b', false), e(null, false)], false);
    expect(view.groups).toEqual([
      { group: 'a', running: 2, limit: 2, due: 1, waitingOnLimit: 1 },
      { group: 'b', running: 1, limit: 2, due: 1, waitingOnLimit: 0 },
    ]);
    expect(view.waitingOnLimit).toBe(1);
    const full = summarizeLimits('q', { concurrency: 3 }, [e('a', true), e('b', true), e(null, true), e(null, false), e('b', false)], true);
    expect(full.waitingOnLimit).toBe(2);
    expect(full.capped).toBe(true);
  });
});

/** Fake limit items in memory: exact counts, no time. */
function fakePorts() {
  const holders = new Map<string, Set<string>>();
  const calls: string[] = [];
  const ports: LimitPorts = {
    acquire: async (id, limit, token) => {
      calls.push(`acquire ${id}`);
      const h = holders.get(id) ?? new Set<string>();
      holders.set(id, h);
      if (h.size >= limit) return { acquired: false, held: h.size, earliestEndMs: 0 };
      h.add(token);
      return { acquired: true };
    },
    release: async (id, token) => (calls.push(`release ${id}`), holders.get(id)?.delete(token) ?? false),
    extend: async (id, token) => holders.get(id)?.has(token) ?? false,
    takeRate: async () => ({ granted: true, startsAtMs: [0], tat: 1 }),
    giveBackRate: async () => true,
    pushRateBack: async (_id, _seen, delta, from) => ({ pushed: true, holeAtMs: from, tat: from + delta }),
  };
  return { ports, holders, calls };
}

const candidate = (id: string, group?: string): Candidate => ({ id, shard: 0, runOrder: `0#${id}`, priority: 0, runAtMs: 0, status: 'pending', leaseUntilMs: null, timeoutMs: 1_000, ...(group ? { group } : {}) });
const clock = { now: () => 1_000 };
const won = (c: Candidate, token = 't'): ClaimAttempt => ({ claim: { job: { id: c.id } as never, token, shard: 0, itemBytes: 0 } });

describe('LimitGate', () => {
  it('takes the queue and group slots under the claim token, and gives them back when the run ends, even if it threw', async () => {
    const { ports, holders } = fakePorts();
    const gate = new LimitGate('q', { concurrency: 5, group: { concurrency: 1 } }, ports, clock, 0);
    let token = '';
    const attempt = await gate.claim(candidate('j1', 'g'), async (fixed) => ((token = fixed.token!), won(candidate('j1'), fixed.token)));
    expect(attempt.claim).not.toBeNull();
    expect([...holders.get('limit#concurrency#q#g')!]).toEqual([token]);
    expect([...holders.get('limit#concurrency#q')!]).toEqual([token]);
    await expect(gate.run(token, async () => Promise.reject(new Error('handler store error')))).rejects.toThrow('handler store error');
    expect(holders.get('limit#concurrency#q#g')!.size).toBe(0);
    expect(holders.get('limit#concurrency#q')!.size).toBe(0);
  });

  it('a lost claim gives its slots back; a refused one claims nothing and blocks the key', async () => {
    const { ports, holders } = fakePorts();
    const gate = new LimitGate('q', { group: { concurrency: 1 } }, ports, clock, 0);
    const lost = await gate.claim(candidate('j1', 'g'), async () => ({ claim: null, winner: 'other' }));
    expect(lost).toEqual({ claim: null, winner: 'other' });
    expect(holders.get('limit#concurrency#q#g')!.size).toBe(0);
    holders.get('limit#concurrency#q#g')!.add('someone-else');
    let claimed = false;
    const refused = await gate.claim(candidate('j2', 'g'), async () => ((claimed = true), won(candidate('j2'))));
    expect(claimed).toBe(false);
    expect(refused).toMatchObject({ claim: null, blocked: { kind: 'limited', jobId: 'j2', group: 'g', limit: 'concurrency', scope: 'group' } });
    expect(gate.blocks(candidate('j3', 'g'))).toBe(true);
    expect(gate.blocks(candidate('j4', 'other'))).toBe(false);
    expect(gate.blocks(candidate('j5'))).toBe(false);
  });

  it('never asks for more slots of a key than its limit by itself: its own held slots block the key', async () => {
    const { ports, calls } = fakePorts();
    const gate = new LimitGate('q', { group: { concurrency: 2 } }, ports, clock, 0);
    let pending = 0;
    const hold = () => new Promise<ClaimAttempt>(() => void pending++); // claims that never answer
    void gate.claim(candidate('a', 'g'), hold);
    void gate.claim(candidate('b', 'g'), hold);
    await new Promise((r) => setTimeout(r, 10));
    expect(gate.blocks(candidate('c', 'g'))).toBe(true);
    expect(calls.filter((c) => c.startsWith('acquire')).length).toBe(2);
    expect(pending).toBe(2);
  });
});

describe('rate starts that come late or go unused', () => {
  const rate = { limit: 20, intervalMs: 1_000 };

  it('a refused worker asks again early enough that a long lead still reaches the next start (no start skipped)', () => {
    const lead = startLeadMs(rate, 300); // claims lately took 300 ms: the lead is 400 ms
    const retryAt = rateRetryAtMs(rate, 10_000, lead);
    const step = rateStep(rate, 10_000, retryAt, 1, lead);
    expect(step).toMatchObject({ kind: 'granted', startsAtMs: [10_000] });
  });

  it("a start left unused by a lost claim that was not the key's last serves the worker's next start of the key, without a write", async () => {
    const now = { ms: 0 };
    let takes = 0;
    const ports = { ...fakePorts().ports, takeRate: async (_id: string, _r: unknown, _seen: unknown, _o: unknown, count: number) => ((takes += 1), { granted: true as const, startsAtMs: Array.from({ length: count }, (_, i) => 200 + i * 53), tat: 200 + count * 53 }), giveBackRate: async () => false };
    const starts = new RateStarts(ports, { now: () => now.ms });
    starts.observe(0); // claims lately landed at once: a spare is reachable up to its slot (plus the lateness allowed)
    // The first request writes alone; the two that came meanwhile share the next write.
    const [, a, b] = await Promise.all([starts.request('k', rate), starts.request('k', rate), starts.request('k', rate)]);
    expect(takes).toBe(2);
    if (!a.granted || !b.granted) throw new Error('expected grants');
    expect([a.last, b.last]).toEqual([false, true]);
    await starts.giveBack('k', a); // its claim was lost; b (the key's last) is in use
    const again = await starts.request('k', rate);
    expect(takes).toBe(2);
    expect(again).toMatchObject({ granted: true, startAtMs: a.startAtMs });
    if (!again.granted) return;
    await starts.giveBack('k', again);
    now.ms = a.startAtMs + rateLatenessMs(rate) + 1; // too late now for a claim to reach it: dropped, a new start taken
    const fresh = await starts.request('k', rate);
    expect(takes).toBe(3);
    expect(fresh).toMatchObject({ granted: true });
  });

  /** A gate whose clock runs with real time plus `skew.ms` (a slow claim moves it on). */
  function lateGate(claimMs: number, refuseTake?: number) {
    const skew = { ms: 0 };
    const clockNow = () => Date.now() + skew.ms;
    const takes: number[] = [];
    const pushes: number[] = [];
    let calls = 0;
    const ports: LimitPorts = {
      ...fakePorts().ports,
      takeRate: async () => {
        if (++calls === refuseTake) return { granted: false, retryAtMs: clockNow() + 30, tat: clockNow() + 600 };
        const at = clockNow() + 100;
        takes.push(at);
        return { granted: true, startsAtMs: [at], tat: at + 53 };
      },
      pushRateBack: async (_id, _seen, delta, from) => (pushes.push(delta), { pushed: true, holeAtMs: from, tat: from + delta }),
    };
    const gate = new LimitGate('q', { group: { rate } }, ports, { now: clockNow }, 0);
    const claim = async (fixed: ClaimFixed) => ((skew.ms += claimMs), won(candidate('j', 'g'), fixed.token));
    return { gate, claim, clockNow, takes, pushes };
  }

  it('a job whose claim lands too late for a hole to cover it (past rateRetakeAfterMs) takes a new start and waits for it (no hole)', async () => {
    const { gate, claim, clockNow, takes, pushes } = lateGate(100 + rateRetakeAfterMs(rate) + 100);
    const attempt = await gate.claim(candidate('j', 'g'), claim);
    if (!attempt.claim) throw new Error('expected a claim');
    let startedAt = 0;
    await gate.run(attempt.claim.token, async () => void (startedAt = clockNow()));
    expect(takes).toHaveLength(2);
    expect(startedAt).toBeGreaterThanOrEqual(takes[1]!);
    expect(startedAt - takes[1]!).toBeLessThan(rateRetakeAfterMs(rate));
    expect(pushes).toEqual([]);
  });

  it('refused a new start, the late job waits until the key comes within reach and asks again; it never starts on the missed slot', async () => {
    const { gate, claim, clockNow, takes, pushes } = lateGate(100 + rateRetakeAfterMs(rate) + 100, 2);
    const attempt = await gate.claim(candidate('j', 'g'), claim);
    if (!attempt.claim) throw new Error('expected a claim');
    let startedAt = 0;
    await gate.run(attempt.claim.token, async () => void (startedAt = clockNow()));
    expect(takes).toHaveLength(2); // the first grant, then (after the refusal) the new one
    expect(startedAt).toBeGreaterThanOrEqual(takes[1]!);
    expect(pushes).toEqual([]);
  });

  it('a job late past the allowed lateness but within rateRetakeAfterMs starts at once and leaves one slot unused (a hole of one spacing)', async () => {
    const { gate, claim, takes, pushes } = lateGate(100 + 250);
    const attempt = await gate.claim(candidate('j', 'g'), claim);
    if (!attempt.claim) throw new Error('expected a claim');
    await gate.run(attempt.claim.token, async () => {});
    expect(takes).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 5));
    expect(pushes).toEqual([rateSpacingMs(rate)]);
  });

});

describe('a long-lived worker meeting many rate keys', () => {
  it('forgets the last seen tat of keys idle for a minute once it knows over 1,000 (the next take then starts from a failed condition)', async () => {
    const now = { ms: 1_000_000 };
    const seen: Array<[string, number | null]> = [];
    const ports = { ...fakePorts().ports, takeRate: async (id: string, _r: unknown, s: number | null) => (seen.push([id, s]), { granted: true as const, startsAtMs: [now.ms + 100], tat: now.ms + 153 }) };
    const starts = new RateStarts(ports, { now: () => now.ms });
    const rate = { limit: 20, intervalMs: 1_000 };
    for (let i = 0; i < 1_000; i++) await starts.request(`k${i}`, rate);
    await starts.request('k0', rate);
    expect(seen.at(-1)).toEqual(['k0', 1_000_153]); // remembered
    now.ms += 120_000;
    await starts.request('fresh', rate); // the 1,001st key: the idle ones are forgotten
    await starts.request('k1', rate);
    expect(seen.at(-1)).toEqual(['k1', null]);
  });
});

describe('the lead of a new worker', () => {
  it('grants its first starts with the longest lead, then follows what its claims take (faster up than down)', async () => {
    const rate = { limit: 20, intervalMs: 1_000 };
    const leads: number[] = [];
    const ports = { ...fakePorts().ports, takeRate: async (_id: string, _r: unknown, _s: unknown, _o: unknown, _n: number, lead: number) => (leads.push(lead), { granted: true as const, startsAtMs: [lead], tat: lead + 53 }) };
    const starts = new RateStarts(ports, { now: () => 0 });
    await starts.request('k', rate);
    expect(leads[0]).toBe(maxReserveMs(rate) * 0.8);
    starts.observe(40);
    await starts.request('k', rate);
    expect(leads[1]).toBe(100);
    starts.observe(200); // a slow claim: the lead grows by half the step at once
    expect(starts.leadMs(rate)).toBe(1.5 * 120);
  });
});

describe('late starts and holes (the rule of rateRetakeAfterMs, simulated)', () => {
  it('no window of the interval holds more than the limit, whatever the lateness, and the holes cost about a slot per late start', () => {
    for (const rate of [{ limit: 20, intervalMs: 1_000 }, { limit: 100, intervalMs: 1_000 }, { limit: 1, intervalMs: 1_000 }, { limit: 5, intervalMs: 60_000 }]) {
      let seed = 7;
      const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
      const lateness = () => { const p = random(); return p < 0.4 ? random() * 40 : p < 0.9 ? 40 + random() * 360 : 400 + random() * 800; };
      let tat: number | null = null;
      const due = new Map<number, number[]>(); // ms -> slots of the grants whose job comes then
      const starts: number[] = [];
      let lateStarts = 0;
      const take = (now: number) => {
        const step = rateStep(rate, tat, now, 1, 100);
        if (step.kind !== 'granted') return;
        tat = step.newTat;
        const slot = step.startsAtMs[0]!;
        const at = Math.ceil(slot + lateness());
        due.set(at, [...(due.get(at) ?? []), slot]);
      };
      const horizon = rate.intervalMs * 20;
      for (let now = 0; now < horizon; now++) {
        for (const slot of due.get(now) ?? []) {
          const late = now - slot;
          if (late <= rateLatenessMs(rate)) starts.push(now);
          else if (late <= rateRetakeAfterMs(rate) && Math.max(tat ?? now, now) < slot + rate.intervalMs) {
            starts.push(now);
            lateStarts++;
            tat = Math.ceil(Math.max(tat ?? now, now) + rateSpacingMs(rate)); // the hole, right after the start, within the missed slot's interval
          } else take(now); // a new start; the missed slot stays unused
        }
        due.delete(now);
        if (now % 3 === 0) take(now);
      }
      starts.sort((a, b) => a - b);
      for (let i = 0; i + rate.limit < starts.length; i++) expect(starts[i + rate.limit]! - starts[i]!, `${rate.limit}/${rate.intervalMs}`).toBeGreaterThanOrEqual(rate.intervalMs);
      if (rate.limit === 20) expect(starts.length).toBeGreaterThan(0.55 * (horizon / rateSpacingMs(rate))); // over half the starts late: about a slot lost for each
    }
  });
});

describe('slot leases', () => {
  it('a claim sent after the slot writes does not need an extend write (its lease, counted when sent, ends within the slot\'s)', async () => {
    const now = { ms: 1_000 };
    const extended: string[] = [];
    const base = fakePorts().ports;
    const ports: LimitPorts = {
      ...base,
      acquire: async (...args) => ((now.ms += 30), base.acquire(...args)), // each slot write takes 30 ms
      extend: async (id) => (extended.push(id), true),
    };
    const gate = new LimitGate('q', { concurrency: 5, group: { concurrency: 2 } }, ports, { now: () => now.ms }, 0);
    const c = candidate('j', 'g');
    const attempt = await gate.claim(c, async (fixed) => {
      const leaseUntil = new Date(now.ms + c.timeoutMs); // as claim-job counts it: from when it is sent
      return { claim: { job: { id: c.id, leaseUntil } as never, token: fixed.token!, shard: 0, itemBytes: 0 } };
    });
    expect(attempt.claim).not.toBeNull();
    expect(extended).toEqual([]);
  });
});
