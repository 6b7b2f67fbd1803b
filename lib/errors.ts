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
    const kinds: string[] = [];
    for (let c: unknown = new.target; typeof c === 'function' && Object.hasOwn(c, 'kind'); c = Object.getPrototypeOf(c)) kinds.push((c as typeof JobTableError).kind);
    Object.defineProperty(this, KINDS, { value: kinds, enumerable: false });
    this.name = kinds[0] ?? 'JobTableError';
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
  static override readonly kind: string = 'PermanentJobError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'PERMANENT', {}, options);
  }
}

/** Some jobs of a batch could not be written after retries; `written` lists those that were. */
export class EnqueueError extends JobTableError {
  static override readonly kind: string = 'EnqueueError';
  constructor(
    message: string,
    readonly written: readonly string[],
    readonly notWritten: readonly string[],
    options?: { cause?: unknown },
  ) {
    super(message, 'ENQUEUE_FAILED', { written, notWritten }, options);
  }
}

/**
 * A write refused because the queue was opened read-only (`jobtable dashboard --read-only`):
 * names the operation. Nothing was sent to DynamoDB.
 */
export class ReadOnlyError extends JobTableError {
  override name = 'ReadOnlyError';
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
