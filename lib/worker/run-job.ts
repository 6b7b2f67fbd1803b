/**
 * Runs one claimed job: the handler with its context (signal, progress, heartbeat), the
 * timeout, and the write of the outcome, every write fenced by the claim token.
 */
import { HandlerNotFoundError, JobTableError, JobTimeoutError, LeaseLostError, PayloadTooLargeError, PermanentJobError, ValidationError, WorkerDeadlineError } from '../errors.ts';
import { toItem } from '../model/codec.ts';
import { attributeValueSize } from '../model/item-size.ts';
import { toJsonValue } from '../model/json-value.ts';
import type { JsonValue } from '../model/json-value.ts';
import { decideAfterFailure, leaseUntilMs, MAX_LEASE_GRACE_MS } from '../model/state.ts';
import { ATTR, MAX_ITEM_BYTES } from '../schema.ts';
import { withAttemptSpan } from '../observability/tracing.ts';
import { truncateUtf8 } from '../util/text.ts';
import type { Claim } from '../store/claim-job.ts';
import { isResendableTransactionError, prepareCompleteJobWith } from '../store/complete-job-with.ts';
import type { StoreContext } from '../store/context.ts';
import { releaseJob, retryLater } from '../store/fail-job.ts';
import { completeNotifying, failNotifying } from '../store/outcome-with-dependents.ts';
import { readDependencies } from '../dependencies/results.ts';
import { cancelChildrenOfFailed, dependencyRefusal } from '../dependencies/refusal.ts';
import { completeOutcome, failOutcome } from '../store/fifo-outcome.ts';
import { prepareFifoCompleteJobWith } from '../store/fifo-complete-with.ts';
import { newWriteId } from '../store/fenced-update.ts';
import { reportProgress, writeLease } from '../store/report-progress.ts';
import { isTransient, resendUntil } from '../store/resend.ts';
import type { ProgressInput } from '../store/report-progress.ts';
import type { Handler, HandlerObject, Job, JobContext, WorkerEvent } from '../types.ts';
import type { TransactWriteItem } from '@aws-sdk/client-dynamodb';

/** The worker is shutting down and gave the job back. */
export class WorkerShutdownError extends JobTableError {
  static override readonly kind: string = 'WorkerShutdownError';
  constructor(jobId: string) {
    super(`Worker shut down while job ${jobId} was running; the job was released`, 'SHUTDOWN', { jobId });
  }
}

/** How a run ended, for the drain's report. */
export type RunOutcome = 'completed' | 'retried' | 'failed' | 'stale' | 'released';

/** Settings a run needs from the drain. */
export interface RunSettings {
  readonly leaseGraceMs: number;
  /** Aborted when the worker shuts down (after its grace period). */
  readonly shutdownSignal: AbortSignal;
  readonly emit: (event: WorkerEvent) => void;
  /** Minimum gap between progress writes. @default 1000 */
  readonly progressIntervalMs?: number;
  /**
   * Epoch ms by which the worker ends (the drain's `finishBy`): heartbeats never extend the lease
   * past it, and the handler's signal aborts `leaseGraceMs` before it. @default none
   */
  readonly finishBy?: number;
  /**
   * Keeps the flow-control slots of this claim (by its token) in step with the job's lease: called
   * with the new lease end before each heartbeat writes it. False: a slot was lost, and the job
   * stops as if its lease were lost. @default none (no limits)
   */
  readonly extendSlots?: (token: string, leaseUntilMs: number) => Promise<boolean>;
}

/** Normalises a handler entry. */
export function handlerObject(h: Handler | undefined): HandlerObject | undefined {
  if (!h) return undefined;
  return typeof h === 'function' ? { handler: h } : h;
}

/** Whatever a handler threw, as an Error (a thrown BigInt or cyclic object must not break this). */
export function asError(e: unknown): Error {
  if (e instanceof Error) return e;
  if (typeof e === 'string') return new Error(e);
  let text: string | undefined;
  try {
    text = JSON.stringify(e);
  } catch {
    /* BigInt, cycles */
  }
  return new Error(text ?? String(e));
}

/** Bytes kept for the final progress and bookkeeping when checking that a result fits. */
const OUTCOME_OVERHEAD_BYTES = 2_048;
/** Longest progress message kept, in UTF-8 bytes. */
const MAX_PROGRESS_MESSAGE_BYTES = 1_000;
/**
 * An outcome write is resent (after the SDK's own retries gave up) until this long before the
 * lease ends: the last resend must reach DynamoDB while this worker still holds the job.
 */
const OUTCOME_RESEND_MARGIN_MS = 250;

/**
 * Runs a claimed job to its outcome, in an OpenTelemetry span when the API is installed (see
 * `lib/observability/tracing.ts`). Never throws for handler errors; store errors propagate.
 */
export async function runJob(
  ctx: StoreContext,
  claim: Claim,
  entry: HandlerObject | undefined,
  knownTypes: readonly string[],
  settings: RunSettings,
): Promise<RunOutcome> {
  return withAttemptSpan(claim.job, () => new Attempt(ctx, claim, entry, settings).run(knownTypes));
}

/**
 * Gives a claimed job back without running it: pending again, due now, its attempt not counted
 * (fenced by the claim token, see `releaseJob`). The drain does so when its rate limits find no
 * start for the job within the limit before the run's deadline (see `LimitGate.run`). 'stale' if
 * the claim was no longer this worker's.
 */
export async function releaseUnstarted(ctx: StoreContext, claim: Claim): Promise<RunOutcome> {
  const ok = await releaseJob(ctx, { id: claim.job.id, token: claim.token, priority: claim.job.priority }, newWriteId());
  return ok ? 'released' : 'stale';
}

/**
 * One attempt of a claimed job. Its deadline follows the lease: the signal aborts `leaseGraceMs`
 * before the lease in the table ends (and before `finishBy`, if set), where the lease end is
 * always computed before the write that sets it is sent, so a slow claim or heartbeat round trip
 * can only make the deadline earlier, never later than the lease.
 */
class Attempt {
  private readonly job: Job;
  private readonly fence: { id: string; token: string; priority: number; queue: string; shard: number };
  private readonly started: number;
  private readonly grace: number;
  private readonly controller = new AbortController();
  private readonly aborted: Promise<never>;
  private rejectAbort!: (reason: Error) => void;
  private timer: NodeJS.Timeout | undefined;
  private finished = false;
  /** When this claim's lease in the table ends (epoch ms), as last written by this worker. */
  private leaseEnd: number;
  /** The heartbeat in flight: heartbeats run one at a time, so the leases they write only grow. */
  private heartbeating: Promise<boolean> | undefined;
  private lastProgress: ProgressInput | undefined;
  private progressDirty = false;
  private lastProgressWrite = 0;
  /** The `completeWith` transaction in flight, if any. */
  private transaction: Promise<boolean> | undefined;
  /** Set once a `completeWith` transaction has been applied: the job is completed. */
  private completedByTransaction = false;

  constructor(
    private readonly ctx: StoreContext,
    private readonly claim: Claim,
    private readonly entry: HandlerObject | undefined,
    private readonly settings: RunSettings,
  ) {
    this.job = claim.job;
    this.fence = { id: this.job.id, token: claim.token, priority: this.job.priority, queue: this.job.queue, shard: claim.shard };
    this.started = ctx.clock.now();
    this.grace = Math.min(Math.max(settings.leaseGraceMs, 0), MAX_LEASE_GRACE_MS);
    this.leaseEnd = this.job.leaseUntil?.getTime() ?? leaseUntilMs(this.started, this.job.timeoutMs, this.grace);
    this.aborted = new Promise<never>((_, reject) => (this.rejectAbort = reject));
    this.aborted.catch(() => {});
  }

  async run(knownTypes: readonly string[]): Promise<RunOutcome> {
    const entry = this.entry;
    // A job whose lease ran out on its last attempt (its worker died) has no attempt left.
    if (this.job.attempts > this.job.maxAttempts) {
      return this.fail(new JobTableError(`Job ${this.job.id} was abandoned by its worker (lease expired) on its last attempt`, 'LEASE_EXPIRED'), true);
    }
    if (!entry) return this.fail(new HandlerNotFoundError(this.job.type, knownTypes), true);
    const refusal = dependencyRefusal(this.job);
    if (refusal) return this.failForDependency(refusal);
    const shutdown = this.settings.shutdownSignal;
    const onShutdown = () => this.abort(new WorkerShutdownError(this.job.id));
    if (shutdown.aborted) onShutdown();
    else shutdown.addEventListener('abort', onShutdown, { once: true });
    this.armDeadline(this.leaseEnd);
    let settled: { result: unknown } | { thrown: unknown };
    try {
      // Aborted before it began (the worker shut down while the job waited for its rate start): not started at all.
      if (this.controller.signal.aborted) throw this.controller.signal.reason;
      settled = { result: await Promise.race([Promise.resolve().then(() => entry.handler(this.job.payload, this.context())), this.aborted]) };
    } catch (err) {
      settled = { thrown: err };
    } finally {
      this.finished = true;
      if (this.timer) clearTimeout(this.timer);
      shutdown.removeEventListener('abort', onShutdown);
    }
    if (await this.landedByTransaction()) return this.completedWith(settled);
    return 'thrown' in settled ? this.afterThrow(settled.thrown) : this.complete(settled.result);
  }

  /** Fails a job whose dependency failed (policy `fail`) without running it, then cancels its pending children. */
  private async failForDependency(refusal: Error): Promise<RunOutcome> {
    const outcome = await this.fail(refusal, true);
    const error = outcome === 'failed' ? await cancelChildrenOfFailed(this.ctx, this.job) : null;
    if (error) this.settings.emit({ kind: 'error', error, job: this.job });
    return outcome;
  }

  /** Waits for a `completeWith` transaction still in flight; true if one was applied. */
  private async landedByTransaction(): Promise<boolean> {
    await this.transaction?.catch(() => false);
    return this.completedByTransaction;
  }

  /** The outcome of an attempt completed by `completeWith`, whatever the handler did after it. */
  private completedWith(settled: { result: unknown } | { thrown: unknown }): RunOutcome {
    if ('thrown' in settled && !this.controller.signal.aborted) {
      const error = new JobTableError(`Job ${this.job.id}'s handler threw after completeWith had completed it: ${asError(settled.thrown).message}`, 'THREW_AFTER_COMPLETE', { jobId: this.job.id }, { cause: settled.thrown });
      this.settings.emit({ kind: 'error', error, job: this.job });
    }
    this.settings.emit({ kind: 'completed', job: this.job, durationMs: this.ctx.clock.now() - this.started });
    return 'completed';
  }

  /**
   * `ctx.completeWith`: the job's completion and `items` in one fenced transaction, resent with
   * one write id (and request token) while the lease holds. See {@link JobContext.completeWith}.
   */
  private async completeWith(items: readonly TransactWriteItem[], result: unknown): Promise<void> {
    if (this.transaction || this.completedByTransaction) {
      throw new ValidationError('completeWith', 'called once per attempt', 'it was already called in this attempt');
    }
    if (this.controller.signal.aborted) throw asError(this.controller.signal.reason);
    if (this.job.dependents.length > 0 && !this.job.dependentsNotified) {
      throw new ValidationError('completeWith', 'used by a job no other job waits for', `jobs wait for job ${this.job.id} (a parent or dependsOn): complete it by returning`);
    }
    const extras = { progress: this.finalProgress(), writeId: newWriteId(), idempotencyKey: this.job.idempotencyKey };
    const { fifoSeq, group, queue } = this.job;
    const prepared = fifoSeq !== null && group !== null
      ? prepareFifoCompleteJobWith({ queue, group, seq: fifoSeq }, this.ctx, this.job.id, this.claim.token, this.storable(result), items, extras)
      : prepareCompleteJobWith(this.ctx, this.job.id, this.claim.token, this.storable(result), items, extras);
    const sending = resendUntil(this.ctx, this.leaseEnd - OUTCOME_RESEND_MARGIN_MS, () => prepared.send(), { resendIf: isResendableTransactionError });
    this.transaction = sending.then((landed) => (this.completedByTransaction = landed));
    let landed: boolean;
    try {
      landed = await this.transaction;
    } finally {
      this.transaction = undefined;
    }
    if (!landed) {
      const lost = new LeaseLostError(this.job.id);
      this.abort(lost);
      throw lost;
    }
  }

  private abort(reason: Error): void {
    if (this.controller.signal.aborted) return;
    this.controller.abort(reason);
    this.rejectAbort(reason);
  }

  /**
   * Arms the abort for a lease that ends at `leaseEnd`, or that would have ended at `uncapped`
   * had `finishBy` not capped it: `grace` before the lease (or `finishBy`) ends.
   */
  private armDeadline(leaseEnd: number, uncapped = leaseEnd): void {
    const finishBy = this.settings.finishBy ?? Infinity;
    const atDeadline = finishBy < uncapped;
    const abortAt = Math.min(leaseEnd, finishBy) - this.grace;
    const reason = () =>
      atDeadline ? new WorkerDeadlineError(this.job.id, finishBy, this.grace) : new JobTimeoutError(this.job.id, this.job.timeoutMs);
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.abort(reason()), Math.max(0, abortAt - this.ctx.clock.now()));
  }

  private context(): JobContext {
    return {
      job: this.job,
      attempt: this.job.attempts,
      signal: this.controller.signal,
      progress: (current, total, message) => this.progress(current, total, message),
      heartbeat: () => this.heartbeat(),
      completeWith: (items, result) => this.completeWith(items, result),
      dependencies: () => readDependencies(this.ctx, this.job),
    };
  }

  private async progress(current: number, total?: number, message?: string): Promise<boolean> {
    if (this.controller.signal.aborted) return false;
    const finite = (v: unknown, field: string) => {
      if (typeof v !== 'number' || !Number.isFinite(v) || Math.abs(v) > Number.MAX_SAFE_INTEGER) {
        throw new ValidationError(field, 'a finite number', `progress ${field} is ${String(v)}`);
      }
      return v;
    };
    this.lastProgress = {
      current: finite(current, 'current'),
      ...(total !== undefined ? { total: finite(total, 'total') } : {}),
      ...(message !== undefined ? { message: truncateUtf8(String(message), MAX_PROGRESS_MESSAGE_BYTES) } : {}),
    };
    this.progressDirty = true;
    const now = this.ctx.clock.now();
    if (now - this.lastProgressWrite < (this.settings.progressIntervalMs ?? 1_000)) return true;
    this.lastProgressWrite = now;
    this.progressDirty = false;
    let ok: boolean;
    try {
      ok = await reportProgress(this.ctx, this.job.id, this.claim.token, this.lastProgress);
    } catch (err) {
      if (!isTransient(err)) throw err;
      // A blip must not fail a job for a progress report: the outcome write carries it instead.
      this.progressDirty = true;
      return true;
    }
    if (!ok) this.abort(new LeaseLostError(this.job.id));
    return ok;
  }

  private heartbeat(): Promise<boolean> {
    if (this.controller.signal.aborted || this.finished) return Promise.resolve(false);
    this.heartbeating ??= this.extendLease().finally(() => (this.heartbeating = undefined));
    return this.heartbeating;
  }

  /**
   * Writes a lease of `timeoutMs + grace` from now, capped at `finishBy`, and moves the abort to
   * `grace` before it. "Now" is taken before the write is sent, so however long the response
   * takes, the abort still comes before the lease in the table ends.
   */
  private async extendLease(): Promise<boolean> {
    const uncapped = leaseUntilMs(this.ctx.clock.now(), this.job.timeoutMs, this.grace);
    const lease = Math.min(uncapped, this.settings.finishBy ?? Infinity);
    if (lease <= this.leaseEnd) return true; // capped at finishBy, which the lease already reaches
    let ok: boolean;
    try {
      // The lease was computed before the first send, so resending it unchanged is safe; resends
      // stop at the current deadline (the abort), after which the job may be someone else's.
      const deadline = Math.min(this.leaseEnd, this.settings.finishBy ?? Infinity) - this.grace;
      // Slots first: a slot's lease never ends before the job's.
      const slots = this.settings.extendSlots;
      ok = (!slots || (await resendUntil(this.ctx, deadline, () => slots(this.claim.token, lease)))) && (await resendUntil(this.ctx, deadline, () => writeLease(this.ctx, this.job.id, this.claim.token, lease)));
    } catch (err) {
      if (!isTransient(err)) throw err;
      return false; // not extended: the old lease and deadline stand
    }
    if (!ok) {
      this.abort(new LeaseLostError(this.job.id));
      return false;
    }
    this.leaseEnd = lease;
    if (!this.finished) this.armDeadline(lease, uncapped);
    return true;
  }

  /**
   * Writes an outcome, resending it past the SDK's retries while the lease holds, always with the
   * same write id: a resend of a write that had landed then recognises it instead of reading stale.
   */
  private persist(write: (writeId: string) => Promise<boolean>, untilMs = this.leaseEnd - OUTCOME_RESEND_MARGIN_MS, stopSignal?: AbortSignal): Promise<boolean> {
    const writeId = newWriteId();
    return resendUntil(this.ctx, untilMs, () => write(writeId), stopSignal ? { stopSignal } : {});
  }

  /**
   * Writes a final failure like {@link persist}, but keeps resending past the lease, until
   * `finishBy` or the worker's shutdown: a failure that landed with its answer lost must still be
   * recognised so `onFailed` fires. Safe past the lease: the claim token fences the write (after
   * another worker's claim it reads stale), and its write id recognises its own landing.
   */
  private persistFailure(write: (writeId: string) => Promise<boolean>): Promise<boolean> {
    return this.persist(write, (this.settings.finishBy ?? Infinity) - OUTCOME_RESEND_MARGIN_MS, this.settings.shutdownSignal);
  }

  private finalProgress(): ProgressInput | undefined {
    return this.progressDirty ? this.lastProgress : undefined;
  }

  private async afterThrow(err: unknown): Promise<RunOutcome> {
    const signal = this.controller.signal;
    const error = asError(signal.aborted ? (signal.reason ?? err) : err);
    if (error instanceof LeaseLostError) return this.stale('failed');
    if (error instanceof WorkerShutdownError) {
      const ok = await this.persist((writeId) => releaseJob(this.ctx, this.fence, writeId));
      return ok ? 'released' : this.stale('failed');
    }
    return this.fail(error, error instanceof PermanentJobError);
  }

  private async fail(error: Error, permanent: boolean): Promise<RunOutcome> {
    const now = this.ctx.clock.now();
    const decision = decideAfterFailure(this.job, now, permanent, this.ctx.random);
    const progress = this.finalProgress();
    const durationMs = now - this.started;
    if (decision.kind === 'retry') {
      const ok = await this.persist((writeId) => retryLater(this.ctx, this.fence, error.message, decision.runAtMs, { progress, writeId }));
      if (!ok) return this.stale('failed');
      this.settings.emit({ kind: 'retrying', job: this.job, error, retryAt: new Date(decision.runAtMs), durationMs });
      return 'retried';
    }
    const ok = await this.persistFailure((writeId) => {
      const extras = { progress, writeId, idempotencyKey: this.job.idempotencyKey };
      // A FIFO job hands its group on (it never has dependents: enqueue refuses that pairing).
      return isFifo(this.job) ? failOutcome(this.ctx, this.job, this.fence, error.message, extras) : failNotifying(this.ctx, this.claim, error.message, extras, this.settings.finishBy);
    });
    if (!ok) return this.stale('failed');
    this.settings.emit({ kind: 'failed', job: this.job, error, durationMs });
    await this.callOnFailed(error);
    return 'failed';
  }

  private async callOnFailed(error: Error): Promise<void> {
    if (!this.entry?.onFailed) return;
    try {
      await this.entry.onFailed(error, this.job);
    } catch (hookErr) {
      this.settings.emit({ kind: 'error', error: asError(hookErr), job: this.job });
    }
  }

  private stale(outcome: 'completed' | 'failed'): RunOutcome {
    this.settings.emit({ kind: 'stale', job: this.job, outcome });
    return 'stale';
  }

  private async complete(result: unknown): Promise<RunOutcome> {
    let stored: JsonValue | undefined;
    try {
      stored = this.storable(result);
    } catch (err) {
      // A result that cannot be stored never will be: fail for good rather than run again.
      return this.fail(asError(err), true);
    }
    const progress = this.finalProgress();
    let ok: boolean;
    try {
      ok = await this.persist((writeId) => {
        const extras = { progress, writeId, idempotencyKey: this.job.idempotencyKey };
        return isFifo(this.job) ? completeOutcome(this.ctx, this.job, this.claim.token, stored, extras) : completeNotifying(this.ctx, this.claim, stored, extras, this.leaseEnd - OUTCOME_RESEND_MARGIN_MS);
      });
    } catch (err) {
      // DynamoDB refused the write itself (not a transient fault): retrying the handler cannot help.
      if (err instanceof Error && err.name === 'ValidationException') {
        return this.fail(new JobTableError(`Could not store the outcome: ${err.message}`, 'OUTCOME_REJECTED', { jobId: this.job.id }, { cause: err }), true);
      }
      throw err;
    }
    if (!ok) return this.stale('completed');
    this.settings.emit({ kind: 'completed', job: this.job, durationMs: this.ctx.clock.now() - this.started });
    return 'completed';
  }

  /** The result as stored, after checking it fits in the item. */
  private storable(result: unknown): JsonValue | undefined {
    const stored = result === undefined ? undefined : toJsonValue(result, 'result');
    if (stored !== undefined) {
      const bytes = this.claim.itemBytes + ATTR.result.length + attributeValueSize(toItem({ r: stored }).r!) + OUTCOME_OVERHEAD_BYTES;
      if (bytes > MAX_ITEM_BYTES) throw new PayloadTooLargeError('result', bytes, MAX_ITEM_BYTES);
    }
    return stored;
  }
}

/** The job types a handler map knows. */
export function knownTypes(handlers: Record<string, unknown>): string[] {
  return Object.keys(handlers).filter((k) => handlers[k] !== undefined);
}

/** Re-exported for the drain. */
export type { Job };

/** True for a job of a FIFO group (its outcomes hand the group on to the next job). */
function isFifo(job: Job): boolean {
  return job.fifoSeq !== null && job.group !== null;
}
