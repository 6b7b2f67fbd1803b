/**
 * What a worker knows about the index's lag, and what it does about it. A global secondary index
 * is updated asynchronously: a read of a shard that another worker is draining shows that
 * worker's claims of the last few hundred ms as pending, at the head of the shard, where a
 * claim of them can only lose (a billed failed write). Without lag a worker helping in such a
 * shard loses only the races of the moment; with lag it would lose nearly every claim there.
 *
 * Evidence of lag, at no extra cost: a read sent after this worker's own claim of a job was
 * answered still shows the job claimable, or a lost race's winner claimed the job well before
 * this worker's read of it was sent (the failed condition returns the winner's `started_at`).
 * Once the index is known to lag, a shard whose latest read shows a lease another worker took
 * shortly before the read's picture (another worker is draining it now) is not claimed from:
 * it is read again later, until that worker is done with it. Evidence is kept for
 * {@link LAG_MEMORY_MS}; without any, nothing changes.
 */
import type { Clock } from '../../types.ts';
import type { Candidate, LeasedEntry } from '../../store/query-due.ts';

/**
 * A lost race counts as evidence of lag only if the winner's claim started this long before the
 * read was sent (its write needs a moment to land, and workers' clocks differ a little).
 */
export const LAG_EVIDENCE_MS = 100;
/** How long evidence of lag is acted on after it was last seen. */
export const LAG_MEMORY_MS = 60_000;
/** A lease another worker took this shortly before a read's picture of the index means it is draining that shard. */
export const ACTIVE_LEASE_MS = 1_000;

/** Evidence of index lag, and the rule it brings (see the file comment). */
export class IndexLagWatch {
  /** The largest lag seen, in ms (a lower bound of the index's lag). */
  lagMs = 0;
  private seenAt = -Infinity;

  constructor(
    private readonly clock: Clock,
    /** The lease grace of this worker's claims (assumed of other workers' too, to tell when they claimed). */
    private readonly leaseGraceMs: number,
  ) {}

  /** True while there is recent evidence that the index lags. */
  get lagging(): boolean {
    return this.clock.now() - this.seenAt <= LAG_MEMORY_MS;
  }

  private evidence(lagMs: number): void {
    this.lagMs = Math.max(this.lagMs, lagMs);
    this.seenAt = this.clock.now();
  }

  /**
   * A read sent at `c.seenAtMs` showed `c` claimable although this worker's claim of it was
   * answered (won or lost) at `answeredAt`: the index lags by at least the difference.
   */
  ownClaimSeen(c: Pick<Candidate, 'seenAtMs'>, answeredAt: number | undefined): void {
    if (answeredAt !== undefined && c.seenAtMs !== undefined && c.seenAtMs > answeredAt) this.evidence(c.seenAtMs - answeredAt);
  }

  /** A race for `c` was lost to another worker whose claim started at `winnerClaimedAtMs`. */
  lostTo(c: Pick<Candidate, 'seenAtMs'>, winnerClaimedAtMs: number | undefined): void {
    if (winnerClaimedAtMs === undefined || c.seenAtMs === undefined) return;
    const lagMs = c.seenAtMs - winnerClaimedAtMs;
    if (lagMs > LAG_EVIDENCE_MS) this.evidence(lagMs);
  }

  /** When another worker took the lease `e` shows (from its lease end and timeout), or -Infinity if unknown. */
  claimedAt(e: LeasedEntry): number {
    if (e.leaseUntilMs === undefined || e.leaseUntilMs === null || e.timeoutMs === undefined) return -Infinity;
    return e.leaseUntilMs - e.timeoutMs - this.leaseGraceMs;
  }

  /**
   * True if a shard's list, read at `readAtMs` and showing another worker's lease taken at
   * `othersClaimedAtMs`, must not be claimed from: the index lags, and that worker was draining
   * the shard when the index's picture was taken, so the pending entries at its head are likely
   * what it claimed since.
   */
  distrusts(othersClaimedAtMs: number, readAtMs: number): boolean {
    return this.lagging && othersClaimedAtMs >= readAtMs - this.lagMs - ACTIVE_LEASE_MS;
  }
}
