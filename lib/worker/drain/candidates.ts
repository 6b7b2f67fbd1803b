/**
 * Where candidates come from: each shard's list of claimable jobs as last read from the index,
 * and the choice of the next one to claim.
 *
 * The next candidate always comes from the best shard: the one whose next candidate has the
 * highest priority; among equal priorities, the shard this worker ranks first (its rendezvous
 * order, so that workers keep to different shards); shards ceded to other workers only when no
 * other shard has work, and backed-off shards not at all. If that shard cannot give a candidate
 * right now (its claim window is full, or a read of it is under way), the pick waits rather than
 * spread claims over other shards: priority order holds across shards, and one worker stays in
 * as few shards as its slots need.
 *
 * Reads: a list running low is continued in the background after where the last read stopped
 * (one query, appended), so a busy shard never runs dry; a list older than `maxAgeMs` is read
 * again from the shard's head before it is claimed from; {@link CandidateSource.refreshNext} re-reads
 * one shard after another in the background (new jobs, higher priorities) while claims go on.
 *
 * Index lag: while the worker knows the index lags (`IndexLagWatch`), a shard whose latest read
 * shows another worker draining it is held like a backed-off one (its head, as a lagging index
 * shows it, is what that worker claimed since), and read again from time to time.
 */
import type { Candidate, DueCursor, DueRead, LeasedEntry } from '../../store/query-due.ts';
import type { Clock } from '../../types.ts';
import { mapLimit } from '../../util/map-limit.ts';

/** A backed-off shard's list this old is read again when no other shard has work. */
export const RECHECK_BACKED_OFF_MS = 250;

/** Stale lists read again at once when the best one is stale (see `rereadStale`). */
export const STALE_REREADS_AT_ONCE = 4;

/** The earlier of two times, either of which may be null (none). */
function earliest(a: number | null, b: number | null): number | null {
  return a === null ? b : b === null ? a : Math.min(a, b);
}

/** Reads one shard: from its head, or continuing after `from`. */
export type ShardReader = (shard: number, from?: DueCursor) => Promise<DueRead>;

/** Which shards this worker may claim in now (see `ShardContention`). */
export interface ShardAccess {
  /** False while the shard's claim window is full or the worker backs off it. */
  canClaim(shard: number): boolean;
  /** True while the worker keeps away from the shard after a lost race. */
  isBackedOff(shard: number): boolean;
  /** True while another worker works the shard. */
  isCeded(shard: number): boolean;
  /** True while this worker works the shard itself (it won a claim there just now). */
  isWorking(shard: number): boolean;
}

/** What {@link CandidateSource} needs. */
export interface CandidateSourceOptions {
  readonly read: ShardReader;
  readonly clock: Clock;
  /** This worker's rank of every shard (0 = preferred), see `shardRanks`. */
  readonly ranks: readonly number[];
  /** Candidates to skip (held, just claimed, deferred); checked again when picking. */
  readonly exclude: (c: Candidate) => boolean;
  /** A list older than this is read again (from the shard's head) before it is claimed from. */
  readonly maxAgeMs: number;
  /** A list with fewer unclaimed candidates than this is continued in the background. */
  readonly readAheadBelow: number;
  /** Shard reads in flight at once. */
  readonly readConcurrency: number;
  /**
   * Shard reads in flight at once in a sweep (nothing is claimed until it ends, so its reads go
   * out together). @default readConcurrency
   */
  readonly sweepConcurrency?: number;
  /** Called when a background read finished (or failed). */
  readonly onChange: () => void;
  /** True for an index entry this worker holds (or just held): its own lease. */
  readonly isOwn: (entry: Pick<Candidate, 'id' | 'runOrder'>) => boolean;
  /** A read of `shard`'s head found jobs leased by another worker: someone works that shard. */
  readonly onOthersSeen: (shard: number) => void;
  /**
   * What the worker knows of index lag (see `IndexLagWatch`): a list whose read showed another
   * worker draining its shard is not claimed from while the index lags, but read again later
   * (as a backed-off one is). @default the index is trusted
   */
  readonly lag?: {
    claimedAt(e: LeasedEntry): number;
    distrusts(othersClaimedAtMs: number, readAtMs: number): boolean;
  };
}

/**
 * A read under way: from the head, its answer replacing the list, either before any more claims
 * from it (`head`: the list was stale) or while claims go on (`refresh`); or continuing the list
 * after its cursor (`append`).
 */
type ReadMode = 'head' | 'refresh' | 'append';

/** One shard's candidates as last read. */
interface ShardList {
  readonly shard: number;
  candidates: Candidate[];
  next: number;
  /** When `candidates` were last read or extended. */
  readAt: number;
  /** Where to continue reading after `candidates` (null: the shard had no more). */
  cursor: DueCursor | null;
  /** Bumped by every read started; only the latest read's answer is kept. */
  generation: number;
  /** The read under way, if any. */
  reading: ReadMode | null;
  /** Re-read from the head when reads allow (see `refreshNext`). */
  refreshDue: boolean;
  /** Priority of the last candidate handed out (what a continuation read will start below). */
  lastPriority: number;
  /** Re-reads while backed off since a candidate was last taken from it (see `recheckBackedOff`). */
  rechecks: number;
  /** When the last read from the head was sent. */
  headSentAt: number;
  /** When the newest lease of another worker that read showed was taken (-Infinity: none). */
  othersClaimedAt: number;
  /** When an entry seen by the reads since the last head read becomes claimable (see `DueRead.nextDueMs`). */
  nextDueMs: number | null;
}

/** What a sweep found about time: for waiting when nothing is due. */
export interface SweepResult {
  /** Earliest time an entry seen but not yet claimable becomes claimable, or null. */
  readonly nextDueMs: number | null;
  /** The same per shard. */
  readonly nextByShard: ReadonlyMap<number, number>;
}

/** The shards' candidate lists and the choice of the next candidate. */
export class CandidateSource {
  private readonly lists = new Map<number, ShardList>();
  private backgroundReads = 0;
  /**
   * When the last {@link next} found only backed-off shards with work: the time a read of one of
   * them falls due (the caller wakes then); Infinity otherwise.
   */
  recheckAt = Infinity;
  /** Head reads in a row that found nothing (see `rereadStale`). */
  private emptyRereads = 0;
  /** The shard {@link refreshNext} reads next (modulo the shard count). */
  private refreshTurn = 0;
  private failure: { error: unknown } | undefined;

  constructor(private readonly o: CandidateSourceOptions) {}

  /**
   * Reads `shards` from their heads (at most `sweepConcurrency` at once) and keeps what they hold.
   * With `freshSince`, a shard whose head read was sent at or after that time and within `maxAgeMs`
   * (as long as a list is trusted), and that has nothing left (no candidate, no cursor, no read
   * under way, nothing seen falling due since), is not read again: what that read saw stands (at
   * the end of a drain, every worker's last sweep re-read shards it had just found empty). The
   * caller passes the time its last job ended: a job's handler or outcome may make jobs due
   * anywhere (a follow-up enqueued, a FIFO group handed on, a dependent released).
   */
  async sweep(shards: readonly number[], freshSince: number | null = null): Promise<SweepResult> {
    const now = this.o.clock.now();
    const known = freshSince !== null ? shards.filter((shard) => this.knownEmpty(this.list(shard), now, freshSince)) : [];
    const toRead = known.length > 0 ? shards.filter((shard) => !known.includes(shard)) : shards;
    const reads = await mapLimit(toRead, this.o.sweepConcurrency ?? this.o.readConcurrency, async (shard) => {
      const list = this.list(shard);
      const generation = ++list.generation;
      list.refreshDue = false;
      const sentAt = this.o.clock.now();
      const read = await this.o.read(shard);
      if (generation === list.generation) this.keep(list, read, 'head', sentAt);
      return { shard, nextDueMs: read.nextDueMs };
    });
    let nextDueMs: number | null = null;
    const nextByShard = new Map<number, number>();
    for (const { shard, nextDueMs: due } of [...reads, ...known.map((shard) => ({ shard, nextDueMs: this.list(shard).nextDueMs }))]) {
      if (due === null) continue;
      nextDueMs = Math.min(nextDueMs ?? Infinity, due);
      nextByShard.set(shard, due);
    }
    return { nextDueMs, nextByShard };
  }

  /** True if `list` was read from its head since `since` and within `maxAgeMs`, and has nothing left (see {@link sweep}). */
  private knownEmpty(list: ShardList, now: number, since: number): boolean {
    this.skipExcluded(list);
    if (list.reading !== null || list.cursor !== null || list.next < list.candidates.length) return false;
    return list.headSentAt >= since && now - list.headSentAt <= this.o.maxAgeMs && (list.nextDueMs === null || list.nextDueMs > now);
  }

  /** Something changed in `shard` since it was read (a race was lost there): the next sweep reads it. */
  invalidate(shard: number): void {
    this.list(shard).headSentAt = -Infinity;
  }

  /**
   * Re-reads the next shard in turn from its head in the background (new jobs, higher priorities
   * than this worker's lists show); claims go on meanwhile. Called every so many claims, so the
   * cost per job stays the same however many workers share the queue.
   */
  refreshNext(shardCount: number): void {
    this.list(this.refreshTurn++ % shardCount).refreshDue = true;
    this.pump();
  }

  /**
   * The next candidate to claim, or null if none may be claimed now (the best shard waits for a
   * read or a place in its claim window, or no shard has candidates). Starts the reads the best
   * shard needs on the way.
   */
  next(access: ShardAccess): Candidate | null {
    this.pump();
    this.recheckAt = Infinity;
    const open = this.openLists(access);
    if (open.length === 0) this.recheckBackedOff(access);
    const own = open.filter((l) => !access.isCeded(l.shard));
    const best = (own.length > 0 ? own : open)[0];
    if (!best) return null;
    const head = best.candidates[best.next];
    const trusted = this.trusted(best, access);
    if (head && !trusted) this.rereadStale(best, own.length > 0 ? own : open, access);
    let taken: Candidate | null = null;
    if (head && trusted && best.reading !== 'head' && access.canClaim(best.shard)) {
      best.next++;
      best.lastPriority = head.priority;
      best.rechecks = 0;
      taken = head;
    }
    this.readAhead(best);
    return taken;
  }

  /**
   * Whether `list` may be claimed from now: it was read within `maxAgeMs`, or this worker is
   * working its shard (it won a claim there just now, so few others claim there; a refresh of an
   * old list is started in the background and claims go on meanwhile).
   */
  private trusted(list: ShardList, access: ShardAccess): boolean {
    if (this.o.clock.now() - list.readAt <= this.o.maxAgeMs) return true;
    if (!access.isWorking(list.shard)) return false;
    if (list.reading === null) this.startRead(list, 'refresh');
    return true;
  }

  /**
   * The best list is too old to claim from (others may have taken its candidates): it is read
   * again from the head. While such re-reads keep finding nothing (other workers emptied those
   * shards: the end of a drain), the next stale lists in pick order are read with it, twice as
   * many each time up to {@link STALE_REREADS_AT_ONCE}, so the worker finds the next shard with
   * work (or that none has any) in a few round trips rather than one shard per round trip.
   */
  private rereadStale(best: ShardList, inOrder: readonly ShardList[], access: ShardAccess): void {
    const atOnce = Math.min(STALE_REREADS_AT_ONCE, 2 ** this.emptyRereads);
    let started = 0;
    for (const list of inOrder) {
      if (started >= atOnce) return;
      if (list !== best && (list.next >= list.candidates.length || this.trusted(list, access))) continue;
      started++;
      if (list.reading !== 'head') this.startRead(list, 'head');
    }
  }

  /** Continues `list` after its cursor in the background if it runs low (and has more). */
  private readAhead(list: ShardList): void {
    if (list.reading === null && list.cursor && list.candidates.length - list.next < this.o.readAheadBelow) this.startRead(list, 'append');
  }

  /**
   * Shards that are not held (backed off, or distrusted while the index lags) and have candidates or more to come (a cursor, or a read that
   * will bring its candidates; a background refresh of an empty list does not count until it has
   * found something), best first: priority, then rank.
   */
  private openLists(access: ShardAccess): ShardList[] {
    const open: ShardList[] = [];
    for (const list of this.lists.values()) {
      this.skipExcluded(list);
      if (this.held(list, access)) continue;
      const coming = list.cursor !== null || list.reading === 'head' || list.reading === 'append';
      if (coming || list.next < list.candidates.length) open.push(list);
    }
    const priorityOf = (l: ShardList) => l.candidates[l.next]?.priority ?? l.lastPriority;
    return open.sort((a, b) => priorityOf(b) - priorityOf(a) || this.o.ranks[a.shard]! - this.o.ranks[b.shard]!);
  }

  /**
   * Only held shards (backed off, or distrusted while the index lags) have work, as last read:
   * read those lists again (from the head) once
   * they are {@link RECHECK_BACKED_OFF_MS} old, twice that after each such read that still showed
   * work (the winner is still draining it, or a lagging index still shows what it took), to learn
   * whether the worker that won them has emptied them meanwhile, rather than wait out the back-off
   * (up to a second) for work that is gone. A shard only distrusted (its drainer was at work when
   * the lagging index took its picture) is read every 500 ms at most: the drain's last jobs are
   * often there, and at 4 s its workers ended up to 2 s after the last job. Sets {@link recheckAt}
   * to when the next read falls due.
   */
  private recheckBackedOff(access: ShardAccess): void {
    const now = this.o.clock.now();
    for (const list of this.lists.values()) {
      if (list.reading !== null || list.next >= list.candidates.length || !this.held(list, access)) continue;
      // A distrusted shard's drainer is known to be at work: look every half second at most, to join (or end) soon after it stops.
      const doublings = access.isBackedOff(list.shard) ? 4 : 1;
      const due = list.readAt + RECHECK_BACKED_OFF_MS * 2 ** Math.min(list.rechecks, doublings);
      if (due > now) this.recheckAt = Math.min(this.recheckAt, due);
      else if (this.startRead(list, 'refresh')) list.rechecks++;
    }
  }

  private skipExcluded(list: ShardList): void {
    while (list.next < list.candidates.length && this.o.exclude(list.candidates[list.next]!)) list.next++;
  }

  /** Starts the refresh reads that are due, as far as the read limit allows. */
  private pump(): void {
    for (const list of this.lists.values()) {
      if (this.backgroundReads >= this.o.readConcurrency) return;
      if (list.refreshDue && list.reading !== 'head' && list.reading !== 'refresh') this.startRead(list, 'refresh');
    }
  }

  /** Starts a read of `list` in the background, unless at the read limit; true if it did. */
  private startRead(list: ShardList, mode: ReadMode): boolean {
    if (this.backgroundReads >= this.o.readConcurrency) return false;
    this.backgroundReads++;
    list.reading = mode;
    list.refreshDue &&= mode === 'append';
    const generation = ++list.generation;
    const sentAt = this.o.clock.now();
    this.o
      .read(list.shard, mode === 'append' ? (list.cursor ?? undefined) : undefined)
      .then(
        (read) => {
          if (mode === 'head') this.emptyRereads = read.candidates.length === 0 ? Math.min(this.emptyRereads + 1, 8) : 0;
          if (generation === list.generation) this.keep(list, read, mode, sentAt);
        },
        (error: unknown) => {
          this.failure ??= { error };
        },
      )
      .finally(() => {
        this.backgroundReads--;
        if (generation === list.generation) list.reading = null;
        this.o.onChange();
      });
    return true;
  }

  private keep(list: ShardList, read: DueRead, mode: ReadMode, sentAt: number): void {
    if (mode !== 'append') this.keepLeases(list, read, sentAt);
    list.candidates = mode === 'append' ? [...list.candidates.slice(list.next), ...read.candidates] : read.candidates;
    list.next = 0;
    list.cursor = read.cursor;
    list.nextDueMs = mode === 'append' ? earliest(list.nextDueMs, read.nextDueMs) : read.nextDueMs;
    list.readAt = this.o.clock.now();
    list.reading = null;
  }

  /** What a read from the head showed of other workers' leases: who works the shard, and since when. */
  private keepLeases(list: ShardList, read: DueRead, sentAt: number): void {
    let seen = false;
    let newest = -Infinity;
    for (const e of read.leased) {
      if (this.o.isOwn(e)) continue;
      seen = true;
      newest = Math.max(newest, this.o.lag?.claimedAt(e) ?? -Infinity);
    }
    list.headSentAt = sentAt;
    list.othersClaimedAt = newest;
    if (seen) this.o.onOthersSeen(list.shard);
  }

  /** True if `list` must not be claimed from while the index lags (see {@link CandidateSourceOptions.lag}). */
  private distrusted(list: ShardList): boolean {
    return list.othersClaimedAt > -Infinity && this.o.lag?.distrusts(list.othersClaimedAt, list.headSentAt) === true;
  }

  /** Backed off, or distrusted: not claimed from now, read again from time to time (see `recheckBackedOff`). */
  private held(list: ShardList, access: ShardAccess): boolean {
    return access.isBackedOff(list.shard) || this.distrusted(list);
  }

  private list(shard: number): ShardList {
    let list = this.lists.get(shard);
    if (!list) {
      list = {
        shard,
        candidates: [],
        next: 0,
        readAt: -Infinity,
        cursor: null,
        generation: 0,
        reading: null,
        refreshDue: false,
        lastPriority: -Infinity,
        rechecks: 0,
        headSentAt: -Infinity,
        othersClaimedAt: -Infinity,
        nextDueMs: null,
      };
      this.lists.set(shard, list);
    }
    return list;
  }

  /** Reads running in the background. */
  get reading(): number {
    return this.backgroundReads;
  }

  /** True if some shard, backed off or not, still has candidates or more to read. */
  hasWork(): boolean {
    for (const list of this.lists.values()) {
      this.skipExcluded(list);
      if (list.reading || list.next < list.candidates.length || list.cursor) return true;
    }
    return false;
  }

  /** The error of a background read since the last call, if one failed (then it is cleared). */
  takeFailure(): { error: unknown } | undefined {
    const f = this.failure;
    this.failure = undefined;
    return f;
  }
}
