/**
 * Flow control in the drain: before a job is claimed, the slots of its queue's and its group's
 * concurrency limits are taken and a start of their rate limits reserved, all under the token the
 * claim will carry; a denied start writes nothing to the job. A key that refused is remembered as
 * blocked for a while, and the drain skips its candidates (reading further into a shard if it
 * must) and claims other groups' jobs meanwhile. When the run ends (however) the slots are given
 * back; a worker that dies leaves them to expire with the job's lease.
 *
 * Order of the writes and why: slots first (a refusal undoes nothing but slots), then rate starts
 * (whose grant time may be ahead: the worker waits for it before running), then the job claim. A
 * lost claim gives everything back. A crash between any two leaves slots held until their lease
 * (the job's lease, counted from the start the rate reserved) and at most a start unused.
 */
import { randomUUID } from 'node:crypto';
import { leaseUntilMs } from '../../model/state.ts';
import { limitItemId, maxReserveMs, rateHoleMs, rateLatenessMs, rateRetakeAfterMs, rateSpacingMs } from '../../model/limits.ts';
import type { QueueLimits, RateLimit } from '../../model/limits.ts';
import type { ClaimAttempt, ClaimFixed } from '../../store/claim-job.ts';
import type { SlotAttempt } from '../../store/acquire-slot.ts';
import type { Candidate } from '../../store/query-due.ts';
import { RateStarts } from './rate-starts.ts';
import type { RateGrant, RatePorts } from './rate-starts.ts';
import type { Clock, LimitedEvent } from '../../types.ts';

/** The limit writes (see `lib/store/acquire-slot.ts`, `release-slot.ts`, `take-rate-token.ts`). */
export interface LimitPorts extends RatePorts {
  acquire(itemId: string, limit: number, token: string, leaseUntilMs: number): Promise<SlotAttempt>;
  release(itemId: string, token: string): Promise<boolean>;
  extend(itemId: string, token: string, leaseUntilMs: number): Promise<boolean>;
}

/** A claim attempt through the gate: as the claim ended, or refused by a limit before any claim. */
export type GatedAttempt = ClaimAttempt | { readonly claim: null; readonly blocked: LimitedEvent };

/** How long a key whose concurrency slots were all taken is left alone before it is tried again. */
export const CONCURRENCY_RECHECK_MS = 200;
/** Candidates skipped for a blocked key that are kept to be offered again when it opens. */
const MAX_PARKED = 256;
/**
 * How much longer than the job's lease (as counted when its limits are taken) its slots are leased:
 * the claim that follows counts the job's lease from when it is sent, and a slot's lease must not
 * end first. Writes slower than this cost one extend per slot; a dead worker's slot comes back this
 * much later.
 */
export const SLOT_LEASE_SLACK_MS = 2_000;
/** How many times a job that missed its rate slot tries for a new one before it starts late. */
const MAX_RETAKES = 4;
/** A parked candidate older than this is dropped (the index is read again instead). */
const PARKED_MAX_AGE_MS = 1_000;

interface Key {
  readonly itemId: string;
  readonly limit: 'concurrency' | 'rate';
  readonly scope: 'queue' | 'group';
}

interface Held {
  readonly slots: string[];
  /** `retake`: the key's slot cannot be kept (no hole could cover its lateness): take a new start. */
  readonly rates: Array<{ readonly itemId: string; readonly rate: RateLimit; grant: Extract<RateGrant, { granted: true }>; retake?: boolean }>;
  startAtMs: number;
  /** When the run of the claim is aborted (its lease's end less the grace): no retake waits past it. */
  deadlineMs: number;
  /** The claimed job's id and group (for the `limited` event of a job given back unstarted). */
  readonly jobId: string;
  readonly group: string | null;
}

/** The gate of one queue's limits, for one drain. */
export class LimitGate {
  /** Limit item id -> epoch ms until which this worker leaves the key alone. */
  private readonly blocked = new Map<string, number>();
  /** This worker's start requests, batched per rate key. */
  private readonly starts: RateStarts;
  /** Claim token -> what it holds. */
  private readonly held = new Map<string, Held>();
  /** Concurrency item id -> slots this worker holds or is taking: it never asks past the limit itself. */
  private readonly mine = new Map<string, number>();
  /** Candidates skipped because a key was blocked, by job id: offered again once it opens. */
  private readonly parked = new Map<string, { readonly c: Candidate; readonly at: number }>();

  constructor(
    private readonly queue: string,
    private readonly limits: QueueLimits,
    private readonly ports: LimitPorts,
    private readonly clock: Clock,
    private readonly leaseGraceMs: number,
  ) {
    this.starts = new RateStarts(ports, clock);
  }

  /** The slots a candidate needs: queue-wide, and its group's if it has one. */
  private concurrencyKeys(c: Candidate): Array<Key & { n: number }> {
    const keys: Array<Key & { n: number }> = [];
    if (this.limits.concurrency !== undefined) keys.push({ itemId: limitItemId('concurrency', this.queue), limit: 'concurrency', scope: 'queue', n: this.limits.concurrency });
    if (c.group && this.limits.group?.concurrency !== undefined) keys.push({ itemId: limitItemId('concurrency', this.queue, c.group), limit: 'concurrency', scope: 'group', n: this.limits.group.concurrency });
    return keys;
  }

  private rateKeys(c: Candidate): Array<Key & { rate: RateLimit }> {
    const keys: Array<Key & { rate: RateLimit }> = [];
    if (this.limits.rate) keys.push({ itemId: limitItemId('rate', this.queue), limit: 'rate', scope: 'queue', rate: this.limits.rate });
    if (c.group && this.limits.group?.rate) keys.push({ itemId: limitItemId('rate', this.queue, c.group), limit: 'rate', scope: 'group', rate: this.limits.group.rate });
    return keys;
  }

  /**
   * True if a key `c` needs is blocked now (it refused lately, or this worker itself holds all its
   * slots): the drain skips it.
   */
  blocks(c: Candidate): boolean {
    for (const k of this.concurrencyKeys(c)) if ((this.mine.get(k.itemId) ?? 0) >= k.n) return true;
    if (this.blocked.size === 0) return false;
    const now = this.clock.now();
    for (const k of [...this.concurrencyKeys(c), ...this.rateKeys(c)]) {
      const until = this.blocked.get(k.itemId);
      if (until !== undefined && until > now) return true;
    }
    return false;
  }

  /**
   * {@link blocks}, keeping a blocked candidate aside to offer it again (see {@link takeParked})
   * when its key opens: a job of this worker ending frees a slot, and the candidates that waited
   * for it are claimed without reading the index again.
   */
  holdBack(c: Candidate): boolean {
    if (!this.blocks(c)) return false;
    if (this.parked.size < MAX_PARKED && !this.parked.has(c.id)) this.parked.set(c.id, { c, at: this.clock.now() });
    return true;
  }

  /** A parked candidate whose keys are open now and that `usable` accepts, or null. */
  takeParked(usable: (c: Candidate) => boolean): Candidate | null {
    this.pruneParked();
    for (const [id, { c }] of this.parked) {
      if (this.blocks(c)) continue;
      this.parked.delete(id);
      if (usable(c)) return c;
    }
    return null;
  }

  /** True while candidates are parked (not too old): the claim phase waits for their keys to open. */
  hasParked(): boolean {
    this.pruneParked();
    return this.parked.size > 0;
  }

  private pruneParked(): void {
    const oldest = this.clock.now() - PARKED_MAX_AGE_MS;
    for (const [id, p] of this.parked) if (p.at < oldest) this.parked.delete(id);
  }

  private count(itemIds: readonly string[], by: 1 | -1): void {
    for (const id of itemIds) {
      const n = (this.mine.get(id) ?? 0) + by;
      if (n > 0) this.mine.set(id, n);
      else this.mine.delete(id);
    }
  }

  /** When the earliest blocked key may be tried again, or null if none is blocked. */
  reopenAt(): number | null {
    const now = this.clock.now();
    let at: number | null = null;
    for (const [id, until] of this.blocked) {
      if (until <= now) this.blocked.delete(id);
      else at = Math.min(at ?? Infinity, until);
    }
    return at;
  }

  /**
   * Takes what `c` needs, then claims it with `claim` (under the same token, the lease counted
   * from the reserved start). Refused by a limit, returns `blocked` and nothing is claimed.
   */
  async claim(c: Candidate, claim: (fixed: ClaimFixed) => Promise<ClaimAttempt>): Promise<GatedAttempt> {
    const token = randomUUID();
    const counted = this.concurrencyKeys(c).map((k) => k.itemId);
    this.count(counted, 1); // before any await: the next pick already sees these slots taken
    const reserve = Math.max(0, ...this.rateKeys(c).map((k) => maxReserveMs(k.rate)));
    // Slots are leased to the latest the job's lease may end: a start reserved up to `reserve` ahead.
    // Plus slack for the writes before the claim, which counts its lease from when it is sent: a
    // slot leased to exactly now's lease needed an extend write after every claim (1 unit a job).
    const slotLease = leaseUntilMs(this.clock.now() + reserve + SLOT_LEASE_SLACK_MS, c.timeoutMs, this.leaseGraceMs);
    const held: Held = { slots: [], rates: [], startAtMs: this.clock.now(), deadlineMs: Infinity, jobId: c.id, group: c.group ?? null };
    // Given back once at most: a second give-back of a start would keep it as a spare twice.
    let undone = false;
    const undo = () => (undone ? Promise.resolve() : ((undone = true), this.undo(token, held, counted)));
    try {
      const refused = (await this.takeSlots(c, token, slotLease, held)) ?? (await this.takeRates(c, held));
      if (refused) {
        await undo();
        return { claim: null, blocked: refused };
      }
      const startAtMs = Math.max(held.startAtMs, ...held.rates.map((r) => r.grant.startAtMs));
      const attempt = await claim({ token, notBefore: startAtMs });
      // From the request to the claim landing: what a grant's lead must cover for a start on time.
      if (held.rates.length > 0) this.starts.observe(this.clock.now() - held.startAtMs);
      if (!attempt.claim) {
        await undo();
        return attempt;
      }
      undone = true; // from here `release` gives the slots back
      const jobLease = attempt.claim.job.leaseUntil?.getTime() ?? slotLease;
      this.held.set(token, { ...held, slots: counted, startAtMs, deadlineMs: jobLease - this.leaseGraceMs });
      return (await this.slotsCover(token, jobLease, slotLease)) ? attempt : { claim: null, winner: undefined };
    } catch (err) {
      await undo().catch(() => {}); // what is not given back expires with its lease
      throw err;
    }
  }

  /**
   * Makes the slots of `token` last as long as its job's lease: the claim counts the lease from when
   * it is sent, so slow writes before it may have made it end after the slots' (then they are
   * extended, one write each). A slot already gone (the writes took longer than a whole lease) cannot
   * be: the job is then left alone, as if the claim had been lost, and runs again once its lease ends.
   */
  private async slotsCover(token: string, jobLease: number, slotLease: number): Promise<boolean> {
    if (jobLease <= slotLease || (await this.extend(token, jobLease).catch(() => false))) return true;
    await this.release(token);
    return false;
  }

  private async takeSlots(c: Candidate, token: string, lease: number, held: Held): Promise<LimitedEvent | null> {
    for (const k of this.concurrencyKeys(c)) {
      const got = await this.ports.acquire(k.itemId, k.n, token, lease);
      // Another worker may free a slot any moment (or its holder expire): look again soon.
      if (!got.acquired) return this.block(c, k, this.clock.now() + CONCURRENCY_RECHECK_MS);
      held.slots.push(k.itemId);
    }
    return null;
  }

  private async takeRates(c: Candidate, held: Held): Promise<LimitedEvent | null> {
    for (const k of this.rateKeys(c)) {
      const grant = await this.starts.request(k.itemId, k.rate);
      if (!grant.granted) return this.block(c, k, grant.retryAtMs);
      held.rates.push({ itemId: k.itemId, rate: k.rate, grant });
    }
    return null;
  }

  private block(c: Candidate, k: Key, until: number): LimitedEvent {
    this.blocked.set(k.itemId, Math.max(until, this.blocked.get(k.itemId) ?? 0));
    return { kind: 'limited', jobId: c.id, queue: this.queue, group: c.group ?? null, limit: k.limit, scope: k.scope, retryAt: new Date(until) };
  }

  /** Gives back what a start that will not happen took (`counted`: the slots it asked for). */
  private async undo(token: string, held: Held, counted: readonly string[]): Promise<void> {
    this.count(counted, -1);
    await Promise.all([
      ...held.slots.map((id) => this.ports.release(id, token)),
      ...held.rates.map((r) => this.starts.giveBack(r.itemId, r.grant)),
    ]);
  }

  /**
   * Runs the job of the claim of `token`: waits for its reserved start, runs `fn`, then gives its
   * slots back however the run ended. A release that fails (DynamoDB unreachable) leaves the slot
   * to expire with the job's lease. A job that cannot start within its rate limits before its
   * run's deadline (a late job out of retakes, see {@link startOnTime}) runs `notStarted` instead,
   * with the `limited` event that says which key (the drain gives the job back, pending again,
   * its attempt not counted, and emits the event); without it, the job starts late.
   */
  async run<T>(token: string, fn: () => Promise<T>, signal?: AbortSignal, notStarted?: (event: LimitedEvent) => Promise<T>): Promise<T> {
    const held = this.held.get(token);
    try {
      if ((await this.startOnTime(token, signal)) || signal?.aborted) return await fn(); // shutting down, the run gives the job back unstarted
      if (notStarted && held) return await notStarted(this.notStartedEvent(held));
      this.pushBackLate(token);
      return await fn();
    } finally {
      await this.release(token).catch(() => {});
    }
  }

  /** The `limited` event of a job given back unstarted: its first key still late, retried at once. */
  private notStartedEvent(held: Held): LimitedEvent {
    const late = held.rates.find((r) => r.retake === true || this.clock.now() - r.grant.startAtMs > rateLatenessMs(r.rate)) ?? held.rates[0]!;
    const scope = late.itemId === limitItemId('rate', this.queue) ? 'queue' : 'group';
    return { kind: 'limited', jobId: held.jobId, queue: this.queue, group: held.group, limit: 'rate', scope, retryAt: new Date(this.clock.now()) };
  }

  /**
   * Waits for the start reserved for the claim of `token`. A job that comes to its slot more than
   * `rateRetakeAfterMs` late (a slow claim, a busy event loop) takes a new start instead and waits
   * for it (see {@link retakeLate}). A job that starts later than `rateLatenessMs` after its slot
   * first leaves a hole in the key's starts (see {@link leaveHoles}), so that no interval of
   * observed starts holds more than the limit; see docs/design.md, "Rate precision". The run's
   * deadline still follows the claim's lease. True if the job may start now; false if it may not
   * (out of tries before its deadline, or shutting down).
   */
  private async startOnTime(token: string, signal?: AbortSignal): Promise<boolean> {
    const held = this.held.get(token);
    if (!held || held.rates.length === 0) return true;
    await this.sleepUntil(held.startAtMs, signal);
    for (let round = 0; round <= MAX_RETAKES && !signal?.aborted; round++) {
      await this.retakeLate(held, signal);
      if (await this.leaveHoles(held)) return true;
    }
    return false;
  }

  /** A job out of tries that starts late anyway pushes each key it is late for back (best effort). */
  private pushBackLate(token: string): void {
    for (const r of this.held.get(token)?.rates ?? []) {
      const late = this.clock.now() - r.grant.startAtMs;
      if (late > rateLatenessMs(r.rate)) void this.starts.leaveHole(r.itemId, rateHoleMs(r.rate, late), this.clock.now()).catch(() => {});
    }
  }

  /**
   * For each key whose slot the job comes to more than `rateLatenessMs` late: leaves a hole of one
   * spacing in the key's starts, after the job's start (now plus what a write takes lately) and
   * before its missed slot's interval ends (see `rateRetakeAfterMs`). True if every late key got
   * one in place and the job may start now; a key that did not (the key's next start too far, a
   * failed write, or a write slower than foreseen) is marked to take a new start instead.
   */
  private async leaveHoles(held: Held): Promise<boolean> {
    const holes: Array<{ r: Held['rates'][number]; at: number | null }> = [];
    for (const r of held.rates) {
      if (this.clock.now() - r.grant.startAtMs <= rateLatenessMs(r.rate)) continue;
      const from = this.clock.now() + this.starts.writesMs(r.rate);
      const at = await this.starts.leaveHole(r.itemId, rateSpacingMs(r.rate), from, r.grant.startAtMs + r.rate.intervalMs).catch(() => null);
      holes.push({ r, at });
    }
    const startAt = this.clock.now();
    for (const h of holes) h.r.retake = h.at === null || h.at < startAt; // a hole in place clears an earlier mark
    return holes.every((h) => !h.r.retake);
  }

  /**
   * For each rate key whose slot the job would miss by more than `rateRetakeAfterMs`: takes a new
   * start and waits for it (the missed one stays unused: a gap, never a burst); refused, waits
   * until the key's next start comes within reach and asks again. A key is asked once its new start
   * can land where the job's other keys' starts are (a lead before it), so that retaking one key
   * does not leave another late; every key is checked again after each wait. At most
   * {@link MAX_RETAKES} tries per key, and no wait past the run's deadline (its lease would end
   * before it starts); after them, or if a write fails, {@link leaveHoles} decides, and a job left
   * without a start is given back unstarted (see {@link run}).
   */
  private async retakeLate(held: Held, signal?: AbortSignal): Promise<void> {
    const tries = new Map<string, number>();
    while (!signal?.aborted) {
      const startAt = Math.max(this.clock.now(), held.startAtMs);
      const r = held.rates.find((x) => (x.retake === true || startAt - x.grant.startAtMs > rateRetakeAfterMs(x.rate)) && (tries.get(x.itemId) ?? 0) < MAX_RETAKES);
      if (!r) {
        if (held.startAtMs <= this.clock.now()) return;
        await this.sleepUntil(held.startAtMs, signal); // then check again: the wake-up itself may come late
        continue;
      }
      tries.set(r.itemId, (tries.get(r.itemId) ?? 0) + 1);
      if (!(await this.retake(held, r, startAt, signal))) return;
    }
  }

  /** One try of {@link retakeLate} for key `r`, aiming at `startAt`; false if no further try fits before the deadline (or a write failed). */
  private async retake(held: Held, r: Held['rates'][number], startAt: number, signal?: AbortSignal): Promise<boolean> {
    await this.sleepUntil(Math.min(startAt - this.starts.leadMs(r.rate), held.deadlineMs), signal);
    const grant = await this.starts.request(r.itemId, r.rate).catch(() => null);
    if (!grant) return false;
    if (!grant.granted) {
      if (grant.retryAtMs > held.deadlineMs) return false;
      await this.sleepUntil(grant.retryAtMs, signal);
      return true;
    }
    if (grant.startAtMs > held.deadlineMs) {
      void this.starts.giveBack(r.itemId, grant).catch(() => {}); // unused: back to the key, or a spare
      return false;
    }
    r.grant = grant;
    r.retake = false;
    held.startAtMs = Math.max(held.startAtMs, grant.startAtMs);
    return true; // the other keys are checked against the new start before the wait for it
  }

  private async sleepUntil(atMs: number, signal?: AbortSignal): Promise<void> {
    const wait = atMs - this.clock.now();
    if (wait <= 0 || signal?.aborted) return;
    await new Promise<void>((resolve) => {
      const onAbort = () => (clearTimeout(timer), resolve());
      // The listener goes with the wait: a long-lived worker's shutdown signal would gather one per wait.
      const timer = setTimeout(() => (signal?.removeEventListener('abort', onAbort), resolve()), wait);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * Moves the lease of every slot the claim of `token` holds to `leaseUntilMs` (before the job's
   * own lease is extended). False if one was gone (removed as expired): the job must stop.
   */
  async extend(token: string, leaseUntilMs: number): Promise<boolean> {
    const slots = this.held.get(token)?.slots ?? [];
    const ok = await Promise.all(slots.map((id) => this.ports.extend(id, token, leaseUntilMs)));
    return ok.every(Boolean);
  }

  /** The run of the claim of `token` ended (however): its slots are given back, its keys unblocked here. */
  async release(token: string): Promise<void> {
    const held = this.held.get(token);
    if (!held) return;
    this.held.delete(token);
    this.count(held.slots, -1);
    for (const id of held.slots) this.blocked.delete(id);
    await Promise.all(held.slots.map((id) => this.ports.release(id, token)));
  }
}
