/**
 * Who claims what: sends the claims the drain picked, several at once (each a distinct
 * candidate, so a worker never races itself), and sorts out how each ended: a job to run, a race
 * lost (the shard's contention state learns who won), or an error to report.
 */
import type { Claim } from '../../store/claim-job.ts';
import type { LimitedEvent } from '../../types.ts';
import type { Candidate } from '../../store/query-due.ts';
import type { ClaimMemory } from './claim-memory.ts';
import type { ShardContention } from './contention.ts';
import type { GatedAttempt } from './limits.ts';

/** What {@link Claimer} needs. */
export interface ClaimerOptions {
  /** The claim write (`tryClaim`), through the queue's limits if it has any. */
  readonly claim: (c: Candidate) => Promise<GatedAttempt>;
  readonly memory: ClaimMemory;
  readonly contention: ShardContention;
  /** The claim was won: start the job. `refusal`, if given, is the error to fail it with instead. */
  readonly onWon: (c: Candidate, claim: Claim, refusal: Error | undefined) => void;
  /** The race was lost to `winner` (the worker id on the item, if any), whose claim started at `winnerClaimedAtMs`. */
  readonly onLost: (c: Candidate, winner: string | undefined, winnerClaimedAtMs: number | undefined) => void;
  /** A flow-control limit refused the start before any claim was sent. */
  readonly onBlocked: (c: Candidate, event: LimitedEvent) => void;
  /** Called after each claim ended, however. */
  readonly onChange: () => void;
}

/** Claims in flight. */
export class Claimer {
  private sending = 0;
  private failure: { error: unknown } | undefined;

  constructor(private readonly o: ClaimerOptions) {}

  /** Claims in flight now. */
  get inFlight(): number {
    return this.sending;
  }

  /**
   * Sends a claim of `c` without waiting for it. From now on `c` is held (a lagging index cannot
   * offer it again); after a lost race or an error it stays hidden a while (see `ClaimMemory`),
   * after a win until its run ends (the caller releases it then).
   */
  send(c: Candidate, refusal?: Error): void {
    this.o.memory.hold(c);
    this.o.contention.started(c.shard);
    this.sending++;
    this.o
      .claim(c)
      .then(
        (attempt) => {
          if (attempt.claim) {
            this.o.memory.answered(c);
            this.o.contention.won(c.shard);
            this.o.onWon(c, attempt.claim, refusal);
            return;
          }
          if ('blocked' in attempt) {
            // Nobody won the job: the shard is not contended, and the job may be shown again.
            this.o.contention.failed(c.shard);
            this.o.memory.forget(c);
            this.o.onBlocked(c, attempt.blocked);
            return;
          }
          this.o.memory.answered(c);
          this.o.contention.lost(c.shard, attempt.winner);
          this.o.memory.release(c);
          this.o.onLost(c, attempt.winner, attempt.winnerClaimedAtMs);
        },
        (error: unknown) => {
          // DynamoDB failed past the SDK's retries; the claim may even have landed, in which case
          // the job runs again once its lease is over.
          this.o.contention.failed(c.shard);
          this.o.memory.release(c);
          this.failure ??= { error };
        },
      )
      .catch((error: unknown) => {
        this.failure ??= { error }; // a bug in a callback must surface, not vanish
      })
      .finally(() => {
        this.sending--;
        this.o.onChange();
      });
  }

  /** The first claim error since the last call, if any (then it is cleared). */
  takeFailure(): { error: unknown } | undefined {
    const f = this.failure;
    this.failure = undefined;
    return f;
  }
}
