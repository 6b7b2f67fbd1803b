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

function keyOf(c: Pick<Candidate, 'id' | 'runOrder'>): string {
  return `${c.id}\n${c.runOrder}`;
}

/** Held or recently tried index entries. */
export class ClaimMemory {
  /** Entry key -> when it may be shown again (Infinity while held). */
  private readonly until = new Map<string, number>();
  private lastPrune = 0;

  constructor(
    private readonly clock: Clock,
    private readonly rememberMs = REMEMBER_CLAIMS_MS,
  ) {}

  /** A claim of `c` is about to be sent: hide it until {@link release}. */
  hold(c: Pick<Candidate, 'id' | 'runOrder'>): void {
    this.until.set(keyOf(c), Infinity);
  }

  /** The claim of `c` was lost, or its run ended: hide it for a while longer, then forget it. */
  release(c: Pick<Candidate, 'id' | 'runOrder'>): void {
    this.until.set(keyOf(c), this.clock.now() + this.rememberMs);
  }

  /** True if `c` is held or was tried too recently to trust an index entry showing it. */
  has(c: Pick<Candidate, 'id' | 'runOrder'>): boolean {
    const until = this.until.get(keyOf(c));
    if (until === undefined) return false;
    if (until > this.clock.now()) return true;
    this.until.delete(keyOf(c));
    return false;
  }

  /** Entries remembered (held or recent), after dropping the expired ones. */
  get size(): number {
    this.prune(true);
    return this.until.size;
  }

  /** Drops expired entries (at most once per `rememberMs` unless forced). */
  prune(force = false): void {
    const now = this.clock.now();
    if (!force && now - this.lastPrune < this.rememberMs) return;
    this.lastPrune = now;
    for (const [key, until] of this.until) if (until <= now) this.until.delete(key);
  }
}
