/**
 * The rate-limit starts one worker asks for, per key, batched: requests that come while a write
 * for the key is in flight wait for it, then are all served by the next write (one conditional
 * write grants several starts, see `takeRateToken`). A worker's own requests never race each
 * other, and a worker with many jobs of one key waiting writes the key's item once per batch.
 */
import { randomUUID } from 'node:crypto';
import { rateLatenessMs, rateRetryAtMs, startLeadMs } from '../../model/limits.ts';
import type { RateLimit } from '../../model/limits.ts';
import type { RatePush, RateTake } from '../../store/take-rate-token.ts';
import type { Clock } from '../../types.ts';

/** A start granted (when, and what is needed to give it back), or a refusal until `retryAtMs`. */
export type RateGrant =
  | { readonly granted: true; readonly startAtMs: number; readonly tat: number; readonly owner: string; readonly last: boolean }
  | { readonly granted: false; readonly retryAtMs: number };

/** The rate writes (see `lib/store/take-rate-token.ts`). */
export interface RatePorts {
  takeRate(itemId: string, rate: RateLimit, seenTat: number | null, owner: string, count: number, leadMs: number): Promise<RateTake>;
  giveBackRate(itemId: string, owner: string, grantedTat: number, startAtMs: number): Promise<boolean>;
  pushRateBack(itemId: string, seenTat: number | null, deltaMs: number, fromMs: number, beforeMs?: number): Promise<RatePush>;
}

interface Waiter {
  readonly resolve: (g: RateGrant) => void;
  readonly reject: (e: unknown) => void;
}

/** Rate keys whose last seen `tat` a worker keeps before it forgets the idle ones. */
const MAX_TATS = 1_000;

/** Batched start requests of one worker, per rate key. */
export class RateStarts {
  /** Rate item id -> its `tat` as last seen. */
  private readonly tats = new Map<string, number>();
  /** When the idle keys of `tats` were last swept (epoch ms). */
  private sweptAt = 0;
  private readonly waiting = new Map<string, Waiter[]>();
  private readonly writing = new Set<string>();
  /** What a start's writes (the grant's, then the claim's) took lately, in ms (moving average). */
  private latencyMs: number | null = null;
  /**
   * Starts granted to this worker and left unused by a lost claim, per key, earliest first: the
   * key's next request takes one without a write while it is still far enough ahead.
   */
  private readonly spare = new Map<string, Array<Extract<RateGrant, { granted: true }>>>();

  constructor(
    private readonly ports: RatePorts,
    private readonly clock: Clock,
  ) {}

  /** One start of key `itemId`: a spare one, or one served with the other requests waiting for the key. */
  request(itemId: string, rate: RateLimit): Promise<RateGrant> {
    const spare = this.takeSpare(itemId, rate);
    if (spare) return Promise.resolve(spare);
    return new Promise<RateGrant>((resolve, reject) => {
      const list = this.waiting.get(itemId) ?? [];
      list.push({ resolve, reject });
      this.waiting.set(itemId, list);
      if (!this.writing.has(itemId)) void this.serve(itemId, rate);
    });
  }

  /** Serves the requests of `itemId`, one write per batch, until none waits. */
  private async serve(itemId: string, rate: RateLimit): Promise<void> {
    this.writing.add(itemId);
    try {
      for (let batch = this.take(itemId); batch.length > 0; batch = this.take(itemId)) {
        const owner = randomUUID();
        let got: RateTake;
        try {
          got = await this.ports.takeRate(itemId, rate, this.tats.get(itemId) ?? null, owner, batch.length, this.leadMs(rate));
        } catch (err) {
          for (const w of batch) w.reject(err);
          continue;
        }
        if (got.tat !== null) this.remember(itemId, got.tat);
        this.answer(batch, got, owner, rate);
      }
    } finally {
      this.writing.delete(itemId);
    }
  }

  private take(itemId: string): Waiter[] {
    const batch = this.waiting.get(itemId) ?? [];
    this.waiting.delete(itemId);
    return batch;
  }

  /** Grants the first of `batch` the starts `got` holds; the others wait until the next slot is in reach. */
  private answer(batch: readonly Waiter[], got: RateTake, owner: string, rate: RateLimit): void {
    if (!got.granted) {
      for (const w of batch) w.resolve({ granted: false, retryAtMs: got.retryAtMs });
      return;
    }
    const n = got.startsAtMs.length;
    batch.forEach((w, i) => {
      if (i < n) w.resolve({ granted: true, startAtMs: got.startsAtMs[i]!, tat: got.tat, owner, last: i === n - 1 });
      else w.resolve({ granted: false, retryAtMs: rateRetryAtMs(rate, got.tat, this.leadMs(rate)) });
    });
  }

  /**
   * How far ahead of a request its start is granted at the earliest, lately (see `startLeadMs`);
   * the longest lead until a start's writes have been timed (a new worker's first claims are its
   * slowest, and a start granted too close is missed).
   */
  leadMs(rate: RateLimit): number {
    return startLeadMs(rate, this.latencyMs ?? Infinity);
  }

  /**
   * Keeps `tat` as the key's last seen. Past {@link MAX_TATS} keys, those not seen for a minute are
   * forgotten (a long-lived worker meets many groups): a forgotten key's next take costs one failed
   * condition, which returns its current `tat`.
   */
  private remember(itemId: string, tat: number): void {
    this.tats.set(itemId, tat);
    const now = this.clock.now();
    if (this.tats.size <= MAX_TATS || now - this.sweptAt < 1_000) return;
    this.sweptAt = now;
    const old = now - 60_000;
    for (const [id, t] of this.tats) if (t < old) this.tats.delete(id);
  }

  /**
   * A start's writes (from its request to its claim) took `ms`: the lead of later grants follows,
   * faster when they grow (a start granted too close is missed) than when they shrink.
   */
  observe(ms: number): void {
    const last = this.latencyMs;
    this.latencyMs = last === null ? ms : ms > last ? 0.5 * last + 0.5 * ms : 0.8 * last + 0.2 * ms;
  }

  /**
   * Leaves a hole of `deltaMs` in the key's starts, from its next start or `fromMs` (whichever is
   * later), if it begins before `beforeMs` (see `pushRateBack`): the hole's start, or null if none
   * was left (too far, lost races, or the key's `tat` unknown here).
   */
  async leaveHole(itemId: string, deltaMs: number, fromMs: number, beforeMs?: number): Promise<number | null> {
    const got = await this.ports.pushRateBack(itemId, this.tats.get(itemId) ?? null, deltaMs, fromMs, beforeMs);
    if (got.tat !== null) this.remember(itemId, got.tat);
    return got.pushed ? got.holeAtMs : null;
  }

  /** What a start's writes took lately, in ms (the longest lead's worth until timed). */
  writesMs(rate: RateLimit): number {
    return this.latencyMs ?? this.leadMs(rate);
  }

  /**
   * Gives back a start that will not be used: to the key's item if it was the last granted (see
   * `giveBackRateToken`), else kept as a spare for this worker's next start of the key. A spare
   * nobody takes in time stays unused: a gap in the key's starts, never a burst.
   */
  async giveBack(itemId: string, grant: Extract<RateGrant, { granted: true }>): Promise<void> {
    const ok = grant.last && (await this.ports.giveBackRate(itemId, grant.owner, grant.tat, grant.startAtMs));
    if (ok) {
      this.remember(itemId, grant.startAtMs);
      return;
    }
    this.pruneSpares();
    const list = this.spare.get(itemId) ?? [];
    list.push({ ...grant, last: false });
    list.sort((a, b) => a.startAtMs - b.startAtMs);
    this.spare.set(itemId, list);
  }

  /** Drops the spare starts already past, of every key (a key no longer asked for keeps none). */
  private pruneSpares(): void {
    const now = this.clock.now();
    for (const [itemId, list] of this.spare) {
      const kept = list.filter((g) => g.startAtMs >= now);
      if (kept.length > 0) this.spare.set(itemId, kept);
      else this.spare.delete(itemId);
    }
  }

  /**
   * The earliest spare start of `itemId` that a claim sent now would still reach in time (at most
   * `rateLatenessMs` late, given the latency lately seen), or null; older ones are dropped.
   */
  private takeSpare(itemId: string, rate: RateLimit): Extract<RateGrant, { granted: true }> | null {
    const list = this.spare.get(itemId);
    if (!list) return null;
    const earliest = this.clock.now() + (this.latencyMs ?? this.leadMs(rate)) - rateLatenessMs(rate);
    let grant = list.shift();
    while (grant && grant.startAtMs < earliest) grant = list.shift();
    if (list.length === 0) this.spare.delete(itemId);
    return grant ?? null;
  }
}
