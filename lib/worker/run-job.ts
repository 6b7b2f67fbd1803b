/**
 * Runs one claimed job: the handler with its context (signal, progress, heartbeat), the
 * timeout, and the write of the outcome, every write fenced by the claim token.
 */
import { HandlerNotFoundError, JobTableError, JobTimeoutError, LeaseLostError, PayloadTooLargeError, PermanentJobError, ValidationError } from '../errors.ts';
import { toItem } from '../model/codec.ts';
import { attributeValueSize } from '../model/item-size.ts';
import { toJsonValue } from '../model/json-value.ts';
import type { JsonValue } from '../model/json-value.ts';
import { decideAfterFailure } from '../model/state.ts';
import { ATTR, MAX_ITEM_BYTES } from '../schema.ts';
import { withAttemptSpan } from '../observability/tracing.ts';
import { truncateUtf8 } from '../util/text.ts';
import type { Claim } from '../store/claim-job.ts';
import { completeJob } from '../store/complete-job.ts';
import type { StoreContext } from '../store/context.ts';
import { failForGood, releaseJob, retryLater } from '../store/fail-job.ts';
import { extendLease, reportProgress } from '../store/report-progress.ts';
import type { ProgressInput } from '../store/report-progress.ts';
import type { Handler, HandlerObject, Job, JobContext, WorkerEvent } from '../types.ts';

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
  return withAttemptSpan(claim.job, () => runAttempt(ctx, claim, entry, knownTypes, settings));
}

/** One attempt of a claimed job: its handler, timeout and outcome write (see {@link runJob}). */
async function runAttempt(
  ctx: StoreContext,
  claim: Claim,
  entry: HandlerObject | undefined,
  knownTypes: readonly string[],
  settings: RunSettings,
): Promise<RunOutcome> {
  const job = claim.job;
  const started = ctx.clock.now();
  const fence = { id: job.id, token: claim.token, priority: job.priority, queue: job.queue, shard: claim.shard };
  const emit = settings.emit;
  const interval = settings.progressIntervalMs ?? 1_000;

  let lastProgress: ProgressInput | undefined;
  let progressDirty = false;
  let lastProgressWrite = 0;

  const fail = async (error: Error, permanent: boolean): Promise<RunOutcome> => {
    const now = ctx.clock.now();
    const decision = decideAfterFailure(job, now, permanent, ctx.random);
    const progress = progressDirty ? lastProgress : undefined;
    if (decision.kind === 'retry') {
      const ok = await retryLater(ctx, fence, error.message, decision.runAtMs, progress);
      if (!ok) return stale('failed');
      emit({ kind: 'retrying', job, error, retryAt: new Date(decision.runAtMs), durationMs: now - started });
      return 'retried';
    }
    const ok = await failForGood(ctx, fence, error.message, progress);
    if (!ok) return stale('failed');
    emit({ kind: 'failed', job, error, durationMs: now - started });
    if (entry?.onFailed) {
      try {
        await entry.onFailed(error, job);
      } catch (hookErr) {
        emit({ kind: 'error', error: asError(hookErr), job });
      }
    }
    return 'failed';
  };
  const stale = (outcome: 'completed' | 'failed'): RunOutcome => {
    emit({ kind: 'stale', job, outcome });
    return 'stale';
  };

  // A job whose lease ran out on its last attempt (its worker died) has no attempt left.
  if (job.attempts > job.maxAttempts) {
    return fail(new JobTableError(`Job ${job.id} was abandoned by its worker (lease expired) on its last attempt`, 'LEASE_EXPIRED'), true);
  }
  if (!entry) return fail(new HandlerNotFoundError(job.type, knownTypes), true);

  const controller = new AbortController();
  const timeoutMs = job.timeoutMs;
  let timer: NodeJS.Timeout | undefined;
  let rejectAbort!: (reason: Error) => void;
  const aborted = new Promise<never>((_, reject) => (rejectAbort = reject));
  aborted.catch(() => {});
  const abort = (reason: Error) => {
    if (controller.signal.aborted) return;
    controller.abort(reason);
    rejectAbort(reason);
  };
  let finished = false;
  const armTimeout = (ms: number) => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => abort(new JobTimeoutError(job.id, timeoutMs)), Math.max(0, ms));
  };
  const onShutdown = () => abort(new WorkerShutdownError(job.id));
  if (settings.shutdownSignal.aborted) onShutdown();
  else settings.shutdownSignal.addEventListener('abort', onShutdown, { once: true });
  // The timeout ends with the lease minus its grace, measured from the claim (not from now: a
  // slow claim must not let the lease run out while this handler still runs).
  const leaseEnd = job.leaseUntil?.getTime();
  armTimeout(leaseEnd !== undefined ? Math.min(timeoutMs, leaseEnd - settings.leaseGraceMs - ctx.clock.now()) : timeoutMs);

  const jobContext: JobContext = {
    job,
    attempt: job.attempts,
    signal: controller.signal,
    async progress(current: number, total?: number, message?: string) {
      if (controller.signal.aborted) return false;
      const finite = (v: unknown, field: string) => {
        if (typeof v !== 'number' || !Number.isFinite(v) || Math.abs(v) > Number.MAX_SAFE_INTEGER) {
          throw new ValidationError(field, 'a finite number', `progress ${field} is ${String(v)}`);
        }
        return v;
      };
      lastProgress = {
        current: finite(current, 'current'),
        ...(total !== undefined ? { total: finite(total, 'total') } : {}),
        ...(message !== undefined ? { message: truncateUtf8(String(message), MAX_PROGRESS_MESSAGE_BYTES) } : {}),
      };
      progressDirty = true;
      const now = ctx.clock.now();
      if (now - lastProgressWrite < interval) return true;
      lastProgressWrite = now;
      progressDirty = false;
      const ok = await reportProgress(ctx, job.id, claim.token, lastProgress);
      if (!ok) abort(new LeaseLostError(job.id));
      return ok;
    },
    async heartbeat() {
      if (controller.signal.aborted || finished) return false;
      const ok = await extendLease(ctx, job.id, claim.token, job.timeoutMs, settings.leaseGraceMs);
      if (!ok) abort(new LeaseLostError(job.id));
      else if (!finished) armTimeout(job.timeoutMs);
      return ok;
    },
  };

  let result: unknown;
  try {
    result = await Promise.race([Promise.resolve().then(() => entry.handler(job.payload, jobContext)), aborted]);
  } catch (err) {
    const error = asError(controller.signal.aborted ? (controller.signal.reason ?? err) : err);
    if (error instanceof LeaseLostError) return stale('failed');
    if (error instanceof WorkerShutdownError) {
      const ok = await releaseJob(ctx, fence);
      return ok ? 'released' : stale('failed');
    }
    return fail(error, error instanceof PermanentJobError);
  } finally {
    finished = true;
    if (timer) clearTimeout(timer);
    settings.shutdownSignal.removeEventListener('abort', onShutdown);
  }

  let stored: JsonValue | undefined;
  try {
    stored = result === undefined ? undefined : toJsonValue(result, 'result');
    if (stored !== undefined) {
      const bytes = claim.itemBytes + ATTR.result.length + attributeValueSize(toItem({ r: stored }).r!) + OUTCOME_OVERHEAD_BYTES;
      if (bytes > MAX_ITEM_BYTES) throw new PayloadTooLargeError('result', bytes, MAX_ITEM_BYTES);
    }
  } catch (err) {
    // A result that cannot be stored never will be: fail for good rather than run again.
    return fail(asError(err), true);
  }
  let ok: boolean;
  try {
    ok = await completeJob(ctx, job.id, claim.token, stored, progressDirty ? lastProgress : undefined);
  } catch (err) {
    // DynamoDB refused the write itself (not a transient fault): retrying the handler cannot help.
    if (err instanceof Error && err.name === 'ValidationException') return fail(new JobTableError(`Could not store the outcome: ${err.message}`, 'OUTCOME_REJECTED', { jobId: job.id }, { cause: err }), true);
    throw err;
  }
  if (!ok) return stale('completed');
  emit({ kind: 'completed', job, durationMs: ctx.clock.now() - started });
  return 'completed';
}

/** The job types a handler map knows. */
export function knownTypes(handlers: Record<string, unknown>): string[] {
  return Object.keys(handlers).filter((k) => handlers[k] !== undefined);
}

/** Re-exported for the drain. */
export type { Job };
