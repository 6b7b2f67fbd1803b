/**
 * Typed errors. Each carries a stable `code`, the context a caller needs to act, and the
 * underlying `cause` where there is one. `toJSON()` gives the shape the enqueue Lambda and the
 * HTTP API return, and {@link errorFromJSON} turns that back into the typed error.
 */

/** Base class of every error jobtable throws on purpose. */
export class JobTableError extends Error {
  // Names are spelled out, not taken from the constructor, so that minified bundles keep them.
  override name = 'JobTableError';
  /** A stable machine-readable code, e.g. `VALIDATION`. */
  readonly code: string;
  /** Extra facts about the failure. */
  readonly context: Readonly<Record<string, unknown>>;

  constructor(message: string, code: string, context: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.context = context;
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
  override name = 'ValidationError';
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
  override name = 'PayloadTooLargeError';
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
  override name = 'HandlerNotFoundError';
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
  override name = 'JobTimeoutError';
  constructor(readonly jobId: string, readonly timeoutMs: number) {
    super(`Job ${jobId} timed out after ${timeoutMs} ms`, 'TIMEOUT', { jobId, timeoutMs });
  }
}

/** A worker's claim on a job ended: its lease ran out and another worker took the job. */
export class LeaseLostError extends JobTableError {
  override name = 'LeaseLostError';
  constructor(readonly jobId: string) {
    super(`Lost the claim on job ${jobId}: its lease expired and it was claimed again`, 'LEASE_LOST', { jobId });
  }
}

/**
 * A handler may throw this to fail the job for good at once, without further attempts.
 *
 * @example
 * if (!payload.email) throw new PermanentJobError('payload.email is missing');
 */
export class PermanentJobError extends JobTableError {
  override name = 'PermanentJobError';
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
  override name = 'JobTimeoutExceedsBudgetError';
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

/** Some jobs of a batch could not be written after retries; `written` lists those that were. */
export class EnqueueError extends JobTableError {
  override name = 'EnqueueError';
  constructor(
    message: string,
    readonly written: readonly string[],
    readonly notWritten: readonly string[],
    options?: { cause?: unknown },
  ) {
    super(message, 'ENQUEUE_FAILED', { written, notWritten }, options);
  }
}

/** A cursor that this library did not produce (or for another query). */
export class InvalidCursorError extends ValidationError {
  override name = 'InvalidCursorError';
  constructor(cause?: unknown) {
    super('cursor', 'a cursor returned by listJobs for the same status and queue', 'not a cursor from this listing', { cause });
  }
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
