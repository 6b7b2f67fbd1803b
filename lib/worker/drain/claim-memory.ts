/**
 * The jobs this worker holds or has just tried to claim, by index entry (id and sort key), so a
 * lagging index cannot show them to it again as pending: GSI reads are eventually consistent, and
 * right after a claim (or even a completion) the index may still list the job as it was before.
 * Trying it again would be a race against itself, a billed failed write, and a reason to leave the
 * shard. A job that was retried, or whose lease ran out and was claimed by another, has a new sort
 * key or was held by someone else, so it is not hidden by mistake for long.
 */
import type { Clock } from '../../types.ts';
import type { Candidate } from '../../store/query-due.ts';

/** How long an entry is remembered after its claim ended: longer than index lag lasts in practice. */
export const REMEMBER_CLAIMS_MS = 5_000;

/** Held or recently tried index entries. */
export class ClaimMemory {
  /**
   * Job id -> its entries tried (sort key, when it may be shown again: Infinity while held, and
   * when the claim was answered, won or lost).
   */
  private readonly entries = new Map<string, Array<{ readonly runOrder: string; until: number; answeredAt?: number }>>();
  private lastPrune = 0;

  constructor(
    private readonly clock: Clock,
    private readonly rememberMs = REMEMBER_CLAIMS_MS,
  ) {}

  private set(c: Pick<Candidate, 'id' | 'runOrder'>, until: number): void {
    const list = this.entries.get(c.id);
    const e = list?.find((x) => x.runOrder === c.runOrder);
    if (e) e.until = until;
    else if (list) list.push({ runOrder: c.runOrder, until });
    else this.entries.set(c.id, [{ runOrder: c.runOrder, until }]);
  }

  /** A claim of `c` is about to be sent: hide it until {@link release}. */
  hold(c: Pick<Candidate, 'id' | 'runOrder'>): void {
    this.set(c, Infinity);
    this.prune();
  }

  /** The claim of `c` was answered, won or lost: from now on the index shows it claimed (once it catches up). */
  answered(c: Pick<Candidate, 'id' | 'runOrder'>): void {
    const e = this.entries.get(c.id)?.find((x) => x.runOrder === c.runOrder);
    if (e) e.answeredAt = this.clock.now();
  }

  /** When the claim of `c` (this id with this sort key) was answered, if it is remembered and was. */
  answeredAt(c: Pick<Candidate, 'id' | 'runOrder'>): number | undefined {
    return this.entries.get(c.id)?.find((x) => x.runOrder === c.runOrder)?.answeredAt;
  }

  /** The claim of `c` was lost, or its run ended: hide it for a while longer, then forget it. */
  release(c: Pick<Candidate, 'id' | 'runOrder'>): void {
    this.set(c, this.clock.now() + this.rememberMs);
  }

  /** A claim of `c` was never sent to the job (a limit refused it first): show it again at once. */
  forget(c: Pick<Candidate, 'id' | 'runOrder'>): void {
    const list = this.entries.get(c.id)?.filter((x) => x.runOrder !== c.runOrder);
    if (list && list.length > 0) this.entries.set(c.id, list);
    else this.entries.delete(c.id);
  }

  /** True if `c` (this id with this sort key) is held or was tried too recently to trust the index. */
  has(c: Pick<Candidate, 'id' | 'runOrder'>): boolean {
    const e = this.entries.get(c.id)?.find((x) => x.runOrder === c.runOrder);
    return e !== undefined && e.until > this.clock.now();
  }

  /** Entries remembered (held or recent), after dropping the expired ones. */
  get size(): number {
    this.prune(true);
    let n = 0;
    for (const list of this.entries.values()) n += list.length;
    return n;
  }

  /** Drops expired entries (at most once per `rememberMs` unless forced). */
  prune(force = false): void {
    const now = this.clock.now();
    if (!force && now - this.lastPrune < this.rememberMs) return;
    this.lastPrune = now;
    for (const [id, list] of this.entries) {
      const kept = list.filter((e) => e.until > now);
      if (kept.length === 0) this.entries.delete(id);
      else if (kept.length < list.length) this.entries.set(id, kept);
    }
  }
}
