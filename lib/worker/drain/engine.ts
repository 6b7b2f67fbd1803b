/**
 * The drain loop, on injected ports (read a shard, claim, run) so it runs on fake time without
 * DynamoDB. A drain is a series of rounds: a sweep reads the shards, then claims fill the free
 * slots as they open (several in flight at once, each a distinct candidate) until nothing
 * claimable is left or it is time to look at every shard again; then it decides whether to look
 * again, wait, or end.
 */
import { JobTimeoutExceedsBudgetError } from '../../errors.ts';
import { leaseUntilMs } from '../../model/state.ts';
import type { Claim } from '../../store/claim-job.ts';
import type { Candidate } from '../../store/query-due.ts';
import type { Clock, ProcessReport, WorkerEvent } from '../../types.ts';
import type { RunOutcome } from '../run-job.ts';
import type { ShardReader, SweepResult } from './candidates.ts';
import { CandidateSource } from './candidates.ts';
import { ClaimMemory } from './claim-memory.ts';
import { Claimer } from './claims.ts';
import { ShardContention } from './contention.ts';
import { IndexLagWatch } from './index-lag.ts';
import type { GatedAttempt } from './limits.ts';
import { RunningPool } from './pool.ts';
import { shardRanks } from './shard-order.ts';
import { Notifier, waitForAny } from './wait.ts';
import type { Wakeup } from './wait.ts';

/** What the loop does to the outside world. */
export interface DrainPorts {
  /** Reads one shard's claimable candidates (from its head, or after `from`). */
  readonly read: ShardReader;
  /** The claim write (through the queue's flow-control limits, if it has any). */
  readonly claim: (c: Candidate) => Promise<GatedAttempt>;
  /** The queue's flow-control limits as this worker knows them: keys refused lately are skipped. */
  readonly limits?: {
    /** True if a limit key of `c` is blocked (then `c` is kept aside for {@link takeParked}). */
    holdBack(c: Candidate): boolean;
    reopenAt(): number | null;
    /** A candidate kept aside whose keys are open again, if `usable` accepts it. */
    takeParked(usable: (c: Candidate) => boolean): Candidate | null;
    hasParked(): boolean;
  };
  /** Runs a claimed job to its outcome; with `refusal`, fails it for good with that error instead. */
  readonly run: (c: Candidate, claim: Claim, refusal: Error | undefined) => Promise<RunOutcome>;
  readonly emit: (event: WorkerEvent) => void;
}

/** The loop's settings, resolved from `ProcessJobsOptions`. */
export interface DrainSettings {
  readonly clock: Clock;
  readonly shardCount: number;
  readonly workerId: string;
  readonly concurrency: number;
  readonly maxJobs: number;
  /** Epoch ms after which no claim starts. */
  readonly budgetEnd: number;
  readonly finishBy: number | undefined;
  readonly workerBudgetMs: number | undefined;
  readonly leaseGraceMs: number;
  /** Claims after which the next shard in turn is read again from its head (`refreshNext`). */
  readonly refreshEveryClaims: number;
  /**
   * And at least this many ms after the last such re-read: a fast drain re-reads shards at a
   * bounded rate rather than per claim (its queries per job fall as it speeds up).
   */
  readonly refreshMinIntervalMs: number;
  readonly waitForDueWithinMs: number;
  readonly pollIntervalMs: number;
  /** Aborted: stop claiming. */
  readonly signal: AbortSignal | undefined;
  readonly wakeup: Wakeup | undefined;
  readonly takeShardHints: (() => readonly number[]) | undefined;
}

/** Candidates older than this are read again before claiming (others may have taken them). */
export const MAX_CANDIDATE_AGE_MS = 1_000;
/** Shard reads in flight at once. */
export const READ_CONCURRENCY = 8;
/**
 * Shard reads in flight at once in a sweep: every shard of the default 16 in one round trip (at 8,
 * a sweep took two, and the last one of a drain was most of the time its workers ran after the
 * last job: 0.4 to 0.8 s with 64 requests in flight).
 */
export const SWEEP_CONCURRENCY = 16;
/** While jobs run and nothing else is due, look again this often (plain drains). */
export const BUSY_RECHECK_MS = 2_000;
/** Consecutive failed rounds before the drain gives up and throws. */
export const MAX_ERROR_STREAK = 8;

type Counts = { -readonly [K in Exclude<keyof ProcessReport, 'durationMs' | 'stoppedBecause'>]: number };

/** One drain: its parts and counts. Call {@link run} once. */
export class DrainLoop {
  readonly counts: Counts = { claimed: 0, completed: 0, retried: 0, failed: 0, stale: 0, lostRaces: 0, queries: 0, deferred: 0, limited: 0 };
  private readonly notifier = new Notifier();
  private readonly memory: ClaimMemory;
  private readonly contention: ShardContention;
  private readonly lag: IndexLagWatch;
  private readonly source: CandidateSource;
  private readonly claimer: Claimer;
  private readonly pool: RunningPool;
  /** Jobs left alone because they could not finish by `finishBy` (it only gets closer). */
  private readonly deferred = new Set<string>();
  /** Shards known to hold a job due when the current idle wait ends. */
  private readonly dueShards: number[] = [];
  /** The next sweep reads every shard, even those just found empty (after an idle wait). */
  private sweepAll = true;
  /** When a job of this drain last ended (its handler or outcome may have made jobs due anywhere). */
  private lastEndAt = -Infinity;
  private readonly started: number;

  constructor(
    private readonly ports: DrainPorts,
    private readonly s: DrainSettings,
  ) {
    this.started = s.clock.now();
    this.memory = new ClaimMemory(s.clock);
    this.contention = new ShardContention(s.clock, s.workerId, { maxWindow: s.concurrency });
    this.lag = new IndexLagWatch(s.clock, s.leaseGraceMs);
    this.source = this.candidateSource();
    this.pool = new RunningPool(() => this.notifier.notify());
    this.claimer = new Claimer({
      claim: ports.claim,
      memory: this.memory,
      contention: this.contention,
      onWon: (c, claim, refusal) => this.start(c, claim, refusal),
      onLost: (c, winner, winnerClaimedAtMs) => {
        this.counts.lostRaces++;
        this.source.invalidate(c.shard); // another worker changed a job there after the read
        if (winner !== this.s.workerId) this.lag.lostTo(c, winnerClaimedAtMs);
      },
      onBlocked: (_c, event) => {
        this.counts.limited++;
        this.ports.emit(event);
      },
      onChange: () => this.notifier.notify(),
    });
  }

  /** Where candidates come from: the shard reads (counted), filtered by what this worker holds. */
  private candidateSource(): CandidateSource {
    return new CandidateSource({
      read: async (shard, from) => {
        const read = await this.ports.read(shard, from);
        this.counts.queries += read.queries;
        return read;
      },
      clock: this.s.clock,
      ranks: shardRanks(this.s.workerId, this.s.shardCount),
      exclude: (c) => this.excludes(c),
      maxAgeMs: MAX_CANDIDATE_AGE_MS,
      readAheadBelow: this.s.concurrency,
      readConcurrency: READ_CONCURRENCY,
      sweepConcurrency: SWEEP_CONCURRENCY,
      onChange: () => this.notifier.notify(),
      isOwn: (e) => this.memory.has(e),
      onOthersSeen: (shard) => this.contention.othersSeen(shard),
      lag: this.lag,
    });
  }

  /**
   * True for candidates a read should drop: held or tried recently by this worker, deferred, or
   * of a limit key that refused lately (reads then page further for other groups' jobs). One this
   * worker claimed before the read was sent is evidence that the index lags.
   */
  excludes(c: Candidate): boolean {
    if (this.memory.has(c)) {
      this.lag.ownClaimSeen(c, this.memory.answeredAt(c));
      return true;
    }
    return this.deferred.has(c.id) || this.ports.limits?.holdBack(c) === true;
  }

  /** When a limit key this worker left alone may be tried again (its jobs are due then), or null. */
  private limitsReopenAt(): number | null {
    return this.ports.limits?.reopenAt() ?? null;
  }

  /** The earlier of `a` and the limits' reopen time (either may be null). */
  private withLimits(a: number | null): number | null {
    const b = this.limitsReopenAt();
    return a === null ? b : b === null ? a : Math.min(a, b);
  }

  /**
   * Runs rounds until a stop reason or nothing due; store errors are reported and retried with
   * back-off, and after {@link MAX_ERROR_STREAK} in a row the drain throws (after `onFatal`).
   * Claims in flight and running jobs always finish before it returns.
   */
  async run(onFatal: () => void): Promise<ProcessReport> {
    let stoppedBecause: ProcessReport['stoppedBecause'] = 'drained';
    let errorStreak = 0;
    let fatal: { error: unknown } | undefined;
    for (;;) {
      const reason = this.stopReason();
      if (reason) {
        stoppedBecause = reason;
        break;
      }
      try {
        const more = await this.round();
        errorStreak = 0;
        if (!more) break;
      } catch (error) {
        // DynamoDB failed past the SDK's own retries: report, back off, and keep going.
        this.ports.emit({ kind: 'error', error: error instanceof Error ? error : new Error(String(error)) });
        if (++errorStreak > MAX_ERROR_STREAK) {
          fatal = { error };
          break;
        }
        await waitForAny(Math.min(5_000, 100 * 2 ** errorStreak), undefined, this.s.signal);
      }
    }
    // Giving up on DynamoDB: running jobs get the shutdown grace, then are aborted and released.
    if (fatal) onFatal();
    await this.settle();
    if (fatal) throw fatal.error;
    return { ...this.counts, durationMs: this.s.clock.now() - this.started, stoppedBecause };
  }

  /** Why claiming must stop now, or null. */
  private stopReason(): ProcessReport['stoppedBecause'] | null {
    if (this.s.signal?.aborted) return 'aborted';
    if (this.counts.claimed >= this.s.maxJobs) return 'maxJobs';
    if (this.s.clock.now() >= this.s.budgetEnd) return 'timeBudget';
    return null;
  }

  /** One sweep and its claims. Returns false if the drain should end (nothing due). */
  private async round(): Promise<boolean> {
    const settledBefore = this.pool.settled;
    const lostBefore = this.counts.lostRaces;
    const hinted = this.hintedShards();
    // A drain that can be woken (a `Worker`) reads every shard each time: a wake-up may name none.
    const freshSince = hinted.length === 0 && !this.sweepAll && !this.s.wakeup ? this.lastEndAt : null;
    this.sweepAll = false;
    const swept = await this.source.sweep(hinted.length > 0 ? hinted : Array.from({ length: this.s.shardCount }, (_, i) => i), freshSince);
    if (hinted.length === 0) this.sinceRefresh = { claims: 0, at: this.s.clock.now() }; // every shard's head was just read
    const sent = await this.claimPhase();
    if (sent > 0 || hinted.length > 0) return true; // a hinted read is followed by a full sweep
    if (this.pool.size > 0) {
      await this.whileBusy(this.withLimits(swept.nextDueMs));
      return true;
    }
    // A job ended mid-round (maybe scheduling a retry), or a race was lost (another worker
    // changed a job after it was read): the round's picture is stale, so look again.
    if (this.pool.settled !== settledBefore || this.counts.lostRaces !== lostBefore) return true;
    return this.idle(swept);
  }

  /** Shards where jobs were just written, or found due by the last idle wait: read these first. */
  private hintedShards(): number[] {
    const hints = [...(this.s.takeShardHints?.() ?? []), ...this.dueShards.splice(0)];
    return [...new Set(hints)].filter((s) => Number.isInteger(s) && s >= 0 && s < this.s.shardCount);
  }

  /**
   * Claims sent since the last background re-read of a shard or full sweep (which reads every
   * shard's head: a re-read right after it would repeat it), and when that was.
   */
  private sinceRefresh = { claims: 0, at: -Infinity };

  /**
   * Counts `claims` just sent; after `refreshEveryClaims` of them, and `refreshMinIntervalMs` after
   * the last re-read (or full sweep), re-reads the next shard in turn from its head in the background.
   */
  private refreshAfter(claims: number): void {
    const since = this.sinceRefresh;
    since.claims += claims;
    const now = this.s.clock.now();
    if (since.claims < this.s.refreshEveryClaims || now - since.at < this.s.refreshMinIntervalMs) return;
    this.source.refreshNext(this.s.shardCount);
    this.sinceRefresh = { claims: 0, at: now };
  }

  /**
   * Fills free slots with claims as they open, until nothing claimable is left (and no claim or
   * read is in flight) or claiming must stop. Every `refreshEveryClaims` claims (and at most every
   * `refreshMinIntervalMs`) the next shard in turn is read again in the background, so that new or
   * higher-priority jobs elsewhere are seen.
   * Returns the claims sent.
   */
  private async claimPhase(): Promise<number> {
    let sent = 0;
    for (;;) {
      if (this.stopReason()) return sent;
      this.throwFailures();
      const filled = this.fill();
      sent += filled;
      this.refreshAfter(filled);
      const changed = this.notifier.next();
      const idleNow = this.claimer.inFlight === 0 && this.source.reading === 0 && this.room() > 0;
      if (idleNow && !this.source.hasWork() && !this.ports.limits?.hasParked()) return sent; // every list used up
      // Wait for a claim, read or job to end; for a backed-off shard to open again, or to be read again.
      const now = this.s.clock.now();
      const recheckAt = this.room() > 0 ? this.source.recheckAt : Infinity;
      const reopen = Math.min(this.withLimits(this.contention.nextReopenAt()) ?? Infinity, recheckAt);
      const waitMs = Math.min(reopen - now, BUSY_RECHECK_MS, this.s.budgetEnd - now);
      await waitForAny(waitMs, undefined, this.s.signal, [changed]);
    }
  }

  /** Free slots that a claim may take now (running jobs and claims in flight hold one each). */
  private room(): number {
    const busy = this.pool.size + this.claimer.inFlight;
    return Math.max(0, Math.min(this.s.concurrency - busy, this.s.maxJobs - this.counts.claimed - this.claimer.inFlight));
  }

  /** Sends a claim for every free slot it can find a candidate for; returns how many. */
  private fill(): number {
    let sent = 0;
    for (let room = this.room(); room > 0; ) {
      const c = this.ports.limits?.takeParked((p) => !this.memory.has(p) && !this.deferred.has(p.id)) ?? this.source.next(this.contention);
      if (!c) break;
      const admission = this.admit(c);
      if (admission === 'defer') continue;
      this.claimer.send(c, admission === 'claim' ? undefined : admission.refusal);
      sent++;
      room--;
    }
    return sent;
  }

  /**
   * Whether to claim `c` now: a job longer than the worker's whole budget is claimed only to fail
   * it (no run of this worker could finish it); one that cannot finish by `finishBy` is deferred.
   */
  private admit(c: Candidate): 'claim' | 'defer' | { refusal: Error } {
    const { workerBudgetMs, finishBy, leaseGraceMs } = this.s;
    if (workerBudgetMs !== undefined && c.timeoutMs + leaseGraceMs > workerBudgetMs) {
      return { refusal: new JobTimeoutExceedsBudgetError(c.id, c.timeoutMs, leaseGraceMs, workerBudgetMs) };
    }
    if (finishBy === undefined || leaseUntilMs(this.s.clock.now(), c.timeoutMs, leaseGraceMs) <= finishBy) return 'claim';
    if (!this.deferred.has(c.id)) this.counts.deferred++;
    this.deferred.add(c.id);
    return 'defer';
  }

  /** Starts a won claim's job in the pool. */
  private start(c: Candidate, claim: Claim, refusal: Error | undefined): void {
    this.counts.claimed++;
    this.ports.emit({ kind: 'claimed', job: claim.job, pickupDelayMs: Math.max(0, this.s.clock.now() - c.runAtMs) });
    this.pool.add(async () => {
      try {
        const outcome = await this.ports.run(c, claim, refusal);
        if (outcome !== 'released') this.counts[outcome]++;
      } catch (err) {
        // A store error while writing the outcome: the lease will run out and the job be retried.
        this.ports.emit({ kind: 'error', error: err instanceof Error ? err : new Error(String(err)), job: claim.job });
      } finally {
        this.memory.release(c);
        this.lastEndAt = this.s.clock.now();
      }
    });
  }

  /** Rethrows the first error of a background read or claim, to fail the round. */
  private throwFailures(): void {
    const failure = this.source.takeFailure() ?? this.claimer.takeFailure();
    if (failure) throw failure.error;
  }

  /**
   * Jobs run and nothing else is due: look again when one ends, on a wake-up, or after a while
   * (new jobs may arrive while a long job holds a slot).
   */
  private async whileBusy(nextDueMs: number | null): Promise<void> {
    const now = this.s.clock.now();
    const recheckAt = Math.min(nextDueMs ?? Infinity, now + (this.s.pollIntervalMs > 0 ? this.s.pollIntervalMs : BUSY_RECHECK_MS));
    await waitForAny(recheckAt - now, this.s.wakeup, undefined, [this.pool.oneSettled()]);
  }

  /** Waits when nothing is due; returns false if the drain should end instead. */
  private async idle(swept: SweepResult): Promise<boolean> {
    const { pollIntervalMs, waitForDueWithinMs, budgetEnd } = this.s;
    if (pollIntervalMs <= 0 && waitForDueWithinMs <= 0) return false;
    const now = this.s.clock.now();
    const nextDue = this.withLimits(swept.nextDueMs) ?? Infinity;
    let waitUntil: number;
    if (pollIntervalMs > 0) waitUntil = Math.min(nextDue, now + pollIntervalMs, budgetEnd);
    else if (nextDue - now <= waitForDueWithinMs && nextDue < budgetEnd) waitUntil = nextDue;
    else return false;
    // The shards whose job falls due by then are read first when the wait ends, then all of them.
    for (const [shard, at] of swept.nextByShard) if (at <= waitUntil) this.dueShards.push(shard);
    this.sweepAll = true;
    if (waitUntil > now) await waitForAny(waitUntil - now, this.s.wakeup, this.s.signal);
    return true;
  }

  /** Lets claims in flight land (their jobs start) and every running job end. */
  private async settle(): Promise<void> {
    while (this.claimer.inFlight > 0) await this.notifier.next();
    await this.pool.allSettled();
    // Errors of claims or reads that ended after the last round are still worth reporting.
    for (const failure of [this.claimer.takeFailure(), this.source.takeFailure()]) {
      if (failure) this.ports.emit({ kind: 'error', error: failure.error instanceof Error ? failure.error : new Error(String(failure.error)) });
    }
  }
}
