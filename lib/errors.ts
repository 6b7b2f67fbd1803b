/**
 * Typed errors. Each carries a stable `code`, the context a caller needs to act, and the
 * underlying `cause` where there is one. `toJSON()` gives the shape the enqueue Lambda and the
 * HTTP API return, and {@link errorFromJSON} turns that back into the typed error.
 */

/** Where an error records the kinds (class names) it was made as, for {@link JobTableError}'s `instanceof`. */
const KINDS = Symbol.for('jobtable.errorKinds');

/**
 * Base class of every error jobtable throws on purpose.
 *
 * `instanceof` works across copies of jobtable in one process (a handler module bundled with its
 * own copy, the CLI's build next to your source): besides the prototype chain it compares the
 * kinds an error was made as, so `err instanceof PermanentJobError` holds for a
 * `PermanentJobError` from any copy.
 */
export class JobTableError extends Error {
  /** The class's stable name (kept through minification); every subclass sets its own. */
  static readonly kind: string = 'JobTableError';
  /** A stable machine-readable code, e.g. `VALIDATION`. */
  readonly code: string;
  /** Extra facts about the failure. */
  readonly context: Readonly<Record<string, unknown>>;

  constructor(message: string, code: string, context: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    // Every jobtable class along the chain has its own `kind`; a user's subclass need not.
    const kinds: string[] = [];
    for (let c: unknown = new.target; typeof c === 'function' && c !== Error; c = Object.getPrototypeOf(c)) {
      if (Object.hasOwn(c, 'kind')) kinds.push((c as typeof JobTableError).kind);
    }
    Object.defineProperty(this, KINDS, { value: kinds, enumerable: false });
    this.name = Object.hasOwn(new.target, 'kind') ? kinds[0]! : new.target.name || kinds[0]!;
    this.code = code;
    this.context = context;
  }

  /** True for errors of this class made by this or any other copy of jobtable. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (Function.prototype[Symbol.hasInstance].call(this, value)) return true;
    const kinds = (value as { [KINDS]?: unknown } | null)?.[KINDS];
    return Array.isArray(kinds) && Object.hasOwn(this, 'kind') && kinds.includes(this.kind);
  }

  /** A plain-object form for JSON responses. */
  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, message: this.message, ...this.context };
  }
}

/**
 * Bad input: names the `field` (a path such as `jobs[3].options.priority`) and the `limit` it
 * broke. Thrown before anything is written.
 *
 * @example
 * try { await queue.enqueue('', {}) } catch (e) {
 *   if (e instanceof ValidationError) console.log(e.field, e.limit) // "type", "1 to 128 characters"
 * }
 */
export class ValidationError extends JobTableError {
  static override readonly kind: string = 'ValidationError';
  /** The offending field, as a path. */
  readonly field: string;
  /** The rule it broke. */
  readonly limit: string;

  constructor(field: string, limit: string, detail?: string, options?: { cause?: unknown }) {
    super(`Invalid ${field}: ${detail ?? `must be ${limit}`}`, 'VALIDATION', { field, limit }, options);
    this.field = field;
    this.limit = limit;
  }
}

/** A payload or result too large for one DynamoDB item. */
export class PayloadTooLargeError extends ValidationError {
  static override readonly kind: string = 'PayloadTooLargeError';
  /** Size of the item it would make, in bytes. */
  readonly bytes: number;

  constructor(field: string, bytes: number, maxBytes: number) {
    super(field, `at most ${maxBytes} bytes in the stored item`, `the item would be ${bytes} bytes, over the ${maxBytes}-byte limit`);
    this.bytes = bytes;
    (this.context as Record<string, unknown>).bytes = bytes;
  }
}

/** No handler is registered for a job's type: the job fails with this (and is not retried). */
export class HandlerNotFoundError extends JobTableError {
  static override readonly kind: string = 'HandlerNotFoundError';
  constructor(readonly jobType: string, known: readonly string[]) {
    super(
      `No handler registered for job type "${jobType}" (registered: ${known.length ? known.join(', ') : 'none'})`,
      'HANDLER_NOT_FOUND',
      { jobType },
    );
  }
}

/** An attempt ran past its `timeoutMs`. */
export class JobTimeoutError extends JobTableError {
  static override readonly kind: string = 'JobTimeoutError';
  constructor(readonly jobId: string, readonly timeoutMs: number) {
    super(`Job ${jobId} timed out after ${timeoutMs} ms`, 'TIMEOUT', { jobId, timeoutMs });
  }
}

/** A worker's claim on a job ended: its lease ran out and another worker took the job. */
export class LeaseLostError extends JobTableError {
  static override readonly kind: string = 'LeaseLostError';
  constructor(readonly jobId: string, options?: { cause?: unknown }) {
    super(`Lost the claim on job ${jobId}: its lease expired and it was claimed again`, 'LEASE_LOST', { jobId }, options);
  }
}

/**
 * An attempt was stopped at the worker's deadline (`finishBy`, e.g. the end of a Lambda
 * invocation, minus the lease grace): the worker would end before the job. The attempt counts as
 * failed and the job is retried with backoff; a job that can never finish within one worker's
 * budget fails for good once its attempts are used up, with this error as its last.
 */
export class WorkerDeadlineError extends JobTableError {
  static override readonly kind: string = 'WorkerDeadlineError';
  constructor(readonly jobId: string, readonly finishBy: number, graceMs: number) {
    super(
      `Job ${jobId} was stopped ${graceMs} ms before the worker's deadline (finishBy ${new Date(finishBy).toISOString()}): a job must finish within one worker run (a Lambda invocation lasts at most 15 minutes)`,
      'WORKER_DEADLINE',
      { jobId, finishBy },
    );
  }
}

/**
 * A handler may throw this to fail the job for good at once, without further attempts.
 *
 * @example
 * if (!payload.email) throw new PermanentJobError('payload.email is missing');
 */
export class PermanentJobError extends JobTableError {
  static override readonly kind: string = 'PermanentJobError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'PERMANENT', {}, options);
  }
}

/**
 * A job needs more time than any run of the worker can give it: its `timeoutMs` plus the lease
 * grace exceed the worker's whole budget (`workerBudgetMs`; on Lambda the function's timeout less
 * the safety margin), so every drain would only defer it. The job fails for good with this error
 * (the message names both limits); lower its `timeoutMs` or run it on a worker with more time.
 */
export class JobTimeoutExceedsBudgetError extends PermanentJobError {
  static override readonly kind: string = 'JobTimeoutExceedsBudgetError';
  override readonly code: string = 'TIMEOUT_EXCEEDS_BUDGET';

  constructor(
    readonly jobId: string,
    readonly timeoutMs: number,
    readonly leaseGraceMs: number,
    readonly workerBudgetMs: number,
  ) {
    super(
      `Job ${jobId} can never run on this worker: its timeoutMs ${timeoutMs} plus the ${leaseGraceMs} ms lease grace exceeds ` +
        `the worker's whole budget of ${workerBudgetMs} ms (workerBudgetMs); use a timeoutMs of at most ${Math.max(0, workerBudgetMs - leaseGraceMs)}`,
    );
    Object.assign(this.context as Record<string, unknown>, { jobId, timeoutMs, leaseGraceMs, workerBudgetMs });
  }
}

/**
 * `ctx.completeWith(items)` was cancelled because the condition of one of the caller's items
 * failed (a `ConditionCheck`, or a `Put`/`Update`/`Delete` with a `ConditionExpression`). Nothing
 * was written: neither the items nor the job's completion. `index` is the item's position in the
 * `items` array; `item` is its current value if that item asked for
 * `ReturnValuesOnConditionCheckFailure: 'ALL_OLD'`. Thrown into the handler: uncaught, it fails
 * the attempt like any error (the job is retried with backoff, or fails for good on its last
 * attempt); throw a `PermanentJobError` instead to fail at once.
 */
export class TransactionConflictError extends JobTableError {
  static override readonly kind: string = 'TransactionConflictError';
  /** Position of the item whose condition failed, in the `items` given. */
  readonly index: number;
  /** The item's current attributes (DynamoDB JSON), if the item asked for them. */
  readonly item: Readonly<Record<string, unknown>> | undefined;

  constructor(jobId: string, index: number, reason: string | undefined, item: Record<string, unknown> | undefined, options?: { cause?: unknown }) {
    super(`The condition of items[${index}] failed${reason ? ` (${reason})` : ''}: job ${jobId} was not completed and nothing was written`, 'TRANSACTION_CONFLICT', { jobId, index }, options);
    this.index = index;
    this.item = item;
  }
}

/**
 * Too many items for `ctx.completeWith`: DynamoDB allows 100 actions in one transaction and the
 * job's own completion takes one, so at most 99 are the caller's. Nothing was written.
 */
export class TooManyTransactItemsError extends ValidationError {
  static override readonly kind: string = 'TooManyTransactItemsError';
  /** How many items were given. */
  readonly count: number;

  constructor(count: number, max: number) {
    super('items', `at most ${max} items (DynamoDB's 100 actions per transaction, one of them the job's completion)`, `${count} items given, over the limit of ${max}`);
    this.count = count;
    (this.context as Record<string, unknown>).count = count;
  }
}

/** Where each job of an `enqueueMany` call ended up: every id is in exactly one list. */
export interface EnqueueOutcome {
  /** Every job's id, in input order. */
  readonly ids: readonly string[];
  /** In the table (created by this call, or already there under the same idempotency key). */
  readonly written: readonly string[];
  /** Certainly not in the table: DynamoDB refused the write, or it was never sent. Safe to enqueue again. */
  readonly notWritten: readonly string[];
  /**
   * The write may or may not have landed (no answer even after resends). Enqueue these again only
   * with an idempotency key, or check with `getJob(id)` first.
   */
  readonly unknown: readonly string[];
}

/**
 * Some jobs of an `enqueueMany` call could not be written. Every job's id is in exactly one of
 * `written`, `notWritten` and `unknown`; `ids` lists them in input order. `onEnqueued` was called
 * for the written ones.
 */
export class EnqueueError extends JobTableError implements EnqueueOutcome {
  static override readonly kind: string = 'EnqueueError';
  readonly ids: readonly string[];
  readonly written: readonly string[];
  readonly notWritten: readonly string[];
  readonly unknown: readonly string[];

  constructor(message: string, outcome: EnqueueOutcome, options?: { cause?: unknown }) {
    super(message, 'ENQUEUE_FAILED', { written: outcome.written, notWritten: outcome.notWritten, unknown: outcome.unknown }, options);
    this.ids = outcome.ids;
    this.written = outcome.written;
    this.notWritten = outcome.notWritten;
    this.unknown = outcome.unknown;
  }
}

/**
 * A write refused because the queue was opened read-only (`jobtable dashboard --read-only`):
 * names the operation. Nothing was sent to DynamoDB.
 */
export class ReadOnlyError extends JobTableError {
  static override readonly kind: string = 'ReadOnlyError';
  constructor(readonly operation: string) {
    super(`Read-only: ${operation} is refused (the dashboard was started with --read-only)`, 'READ_ONLY', { operation });
  }
}

/** A cursor that this library did not produce (or for another query). */
export class InvalidCursorError extends ValidationError {
  static override readonly kind: string = 'InvalidCursorError';
  /**
   * @param limit what a valid cursor is, e.g. `a cursor returned by redrive for the same filter`
   * @param problem what is wrong with this one
   */
  constructor(cause?: unknown, limit = 'a cursor returned by listJobs for the same status and queue', problem = 'not a cursor from this listing') {
    super('cursor', limit, problem, { cause });
  }
}

/**
 * `dependsOn` named a job with no record: never enqueued, or finished so long ago that its
 * retention expired (its outcome is unknown, so it can neither count as done nor as failed).
 * Nothing was written.
 */
export class DependencyNotFoundError extends ValidationError {
  static override readonly kind: string = 'DependencyNotFoundError';
  /** The ids that have no record. */
  readonly missing: readonly string[];

  constructor(field: string, missing: readonly string[]) {
    super(field, 'ids of existing jobs (enqueued, and not past their retention)', `no job ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ` and ${missing.length - 5} more` : ''} (never enqueued, or its retention expired)`);
    this.missing = missing;
    (this.context as Record<string, unknown>).missing = missing;
  }
}

/**
 * The error a waiting job fails with, without running, when a job it waited for (a child, or a
 * `dependsOn` job) failed for good or was cancelled and its policy is `fail`.
 */
export class DependencyFailedError extends PermanentJobError {
  static override readonly kind: string = 'DependencyFailedError';
  constructor(
    readonly jobId: string,
    readonly dependencyId: string | null,
    readonly kindOfDependency: 'children' | 'jobs',
  ) {
    super(`Job ${jobId} did not run: ${kindOfDependency === 'children' ? 'its child' : 'the job it depends on'} ${dependencyId ?? '(unknown)'} failed for good or was cancelled (on failure: fail)`);
    Object.assign(this.context as Record<string, unknown>, { jobId, dependencyId });
  }
}

/**
 * Invalid flow-control limits (`limits` of a queue, worker or `JobTable`): names the field, e.g.
 * `limits.emails.group.concurrency`, and the rule it broke. Thrown before anything runs.
 */
export class LimitsError extends ValidationError {
  static override readonly kind: string = 'LimitsError';
}

/**
 * Rebuilds a typed error from its JSON form (as returned by the enqueue Lambda or HTTP API).
 * Unknown shapes become a plain {@link JobTableError}.
 */
export function errorFromJSON(json: Record<string, unknown>): JobTableError {
  const message = typeof json.message === 'string' ? json.message : 'Unknown error';
  const code = typeof json.code === 'string' ? json.code : 'UNKNOWN';
  if (json.name === 'ValidationError' || json.name === 'PayloadTooLargeError' || json.name === 'InvalidCursorError' || code === 'VALIDATION') {
    const err = new ValidationError(String(json.field ?? 'unknown'), String(json.limit ?? 'unknown'));
    err.message = message;
    return err;
  }
  const { name: _n, code: _c, message: _m, ...context } = json;
  const err = new JobTableError(message, code, context);
  if (typeof json.name === 'string') err.name = json.name;
  return err;
}
