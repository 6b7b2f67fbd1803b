/**
 * Keeping workers out of each other's way, per shard: how many claims this worker may have in
 * flight in a shard (a window that starts small, two claims, and doubles with every claim won,
 * and is one after a lost race there, so a worker entering a shard another worker is draining
 * loses only a few races there before it knows), and what a lost race does: the loser cedes the
 * shard to the winner. It backs off the
 * shard (for a time that doubles with each further loss there in a row) and then claims there
 * only once its other shards have nothing, for {@link ContentionSettings.cedeMs}. Workers start in
 * different shards (each has its own rendezvous order of them, `shard-order.ts`), so they meet
 * only where their orders overlap, and part again at the first lost race.
 */
import type { Clock } from '../../types.ts';

/** Tuning of {@link ShardContention}. */
export interface ContentionSettings {
  /** Claims in flight allowed in a shard this worker has not lost a race in yet. @default 2 */
  readonly initialWindow: number;
  /** The most claims in flight in one shard (the worker's concurrency). */
  readonly maxWindow: number;
  /** First back-off after a lost race, in ms; doubles with each further loss in a row. @default 200 */
  readonly backoffBaseMs: number;
  /** Longest back-off, in ms. @default 1000 */
  readonly backoffMaxMs: number;
  /** How long a shard stays ceded after a lost race (used only when no other shard has work). @default 10000 */
  readonly cedeMs: number;
}

/** A worker that won a claim in a shard this recently is working it (and does not cede it on sight). */
export const WORKING_SHARD_MS = 1_000;

/** Defaults of {@link ContentionSettings}, except `maxWindow`. */
export const CONTENTION_DEFAULTS = { initialWindow: 2, backoffBaseMs: 200, backoffMaxMs: 1_000, cedeMs: 10_000 } as const;

interface ShardState {
  window: number;
  inFlight: number;
  /** Races lost in a row here. */
  losses: number;
  backoffUntil: number;
  /** Until then, another worker works this shard: keep to other shards while they have work. */
  cededUntil: number;
  /** When this worker last won a claim here. */
  lastWinAt: number;
}

/** Per-shard claim windows, back-offs and cessions of one worker. */
export class ShardContention {
  private readonly shards = new Map<number, ShardState>();
  private readonly settings: ContentionSettings;

  constructor(
    private readonly clock: Clock,
    private readonly workerId: string,
    settings: Partial<ContentionSettings> & Pick<ContentionSettings, 'maxWindow'>,
  ) {
    this.settings = { ...CONTENTION_DEFAULTS, ...settings };
  }

  private state(shard: number): ShardState {
    let s = this.shards.get(shard);
    if (!s) {
      s = { window: Math.min(this.settings.initialWindow, this.settings.maxWindow), inFlight: 0, losses: 0, backoffUntil: 0, cededUntil: 0, lastWinAt: -Infinity };
      this.shards.set(shard, s);
    }
    return s;
  }

  /** True while this worker keeps away from `shard` after losing a race there. */
  isBackedOff(shard: number): boolean {
    return this.state(shard).backoffUntil > this.clock.now();
  }

  /** True while `shard` is ceded to another worker: claim there only if no other shard has work. */
  isCeded(shard: number): boolean {
    return this.state(shard).cededUntil > this.clock.now();
  }

  /** True if another claim may be sent in `shard` now (not backed off, window not full). */
  canClaim(shard: number): boolean {
    const s = this.state(shard);
    return !this.isBackedOff(shard) && s.inFlight < s.window;
  }

  /** True while this worker works `shard`: it won a claim there in the last {@link WORKING_SHARD_MS}. */
  isWorking(shard: number): boolean {
    return this.clock.now() - this.state(shard).lastWinAt <= WORKING_SHARD_MS;
  }

  /** Claims in flight in `shard`. */
  inFlight(shard: number): number {
    return this.state(shard).inFlight;
  }

  /** A claim in `shard` was sent. */
  started(shard: number): void {
    this.state(shard).inFlight++;
  }

  /** The claim was won: the window doubles. */
  won(shard: number): void {
    const s = this.state(shard);
    s.inFlight--;
    s.losses = 0;
    s.window = Math.min(this.settings.maxWindow, s.window * 2);
    s.lastWinAt = this.clock.now();
  }

  /**
   * A read of `shard` showed jobs another worker holds: unless this worker is working the shard
   * itself (won a claim there in the last {@link WORKING_SHARD_MS}), it cedes the shard without
   * having to lose a race to learn it, and enters it later with a window of one.
   */
  othersSeen(shard: number): void {
    const s = this.state(shard);
    const now = this.clock.now();
    if (this.isWorking(shard)) return;
    s.cededUntil = Math.max(s.cededUntil, now + this.settings.cedeMs);
    s.window = 1;
  }

  /** The claim failed with an error (no race was lost). */
  failed(shard: number): void {
    this.state(shard).inFlight--;
  }

  /**
   * The claim lost a race to `winner` (the worker id on the item, if any): the window drops to
   * one, and unless the winner is this very worker (its own claim, shown again by a lagging index
   * after it was forgotten), the shard is backed off and ceded.
   */
  lost(shard: number, winner: string | undefined): void {
    const s = this.state(shard);
    s.inFlight--;
    s.window = 1;
    if (winner === this.workerId) return;
    s.losses++;
    const now = this.clock.now();
    const ms = Math.min(this.settings.backoffMaxMs, this.settings.backoffBaseMs * 2 ** (s.losses - 1));
    s.backoffUntil = Math.max(s.backoffUntil, now + ms);
    s.cededUntil = Math.max(s.cededUntil, now + this.settings.cedeMs);
  }

  /** When the earliest current back-off ends, or null if none is running. */
  nextReopenAt(): number | null {
    const now = this.clock.now();
    let next: number | null = null;
    for (const s of this.shards.values()) if (s.backoffUntil > now) next = Math.min(next ?? Infinity, s.backoffUntil);
    return next;
  }
}
