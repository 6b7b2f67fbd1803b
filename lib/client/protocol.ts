/**
 * The wire format of the enqueue Lambda: what callers send and what it returns. Pure; shared by
 * the function (`functions/enqueue.ts`) and the client (`./lambda-client.ts`) so both sides agree.
 */
import { ValidationError } from '../errors.ts';
import type { JobTableError } from '../errors.ts';
import { validateTraceContext } from '../model/validate.ts';
import type { EnqueueOptions, EnqueueRequest, TraceContext } from '../types.ts';

/**
 * One job: `type`, `payload`, and the {@link EnqueueOptions} flattened beside them.
 * @example
 * { "type": "send_email", "payload": { "to": "a@example.com" }, "delayMs": 60000, "idempotencyKey": "order-42" }
 * { "type": "reindex", "payload": { "doc": 7 }, "debounce": { "key": "doc-7", "windowMs": 5000 } }
 */
export interface EnqueueJobEvent extends Omit<EnqueueOptions, 'runAt'> {
  readonly type: string;
  readonly payload: unknown;
  /** A due time: an ISO-8601 string or epoch milliseconds. */
  readonly runAt?: string | number;
}

/** Many jobs in one invoke (validated together: one bad job and nothing is written). */
export interface EnqueueBatchEvent {
  readonly jobs: readonly EnqueueJobEvent[];
  /**
   * The caller's W3C trace context: the parent of the function's batch span, whose context the
   * jobs record (a job's own `trace` option still wins for that job).
   */
  readonly trace?: TraceContext;
}

/** What the enqueue function accepts. */
export type EnqueueEvent = EnqueueJobEvent | EnqueueBatchEvent;

/**
 * What it returns: `{ id }` for one job, `{ ids }` (input order) for a batch, or `{ error }` (the
 * error's `toJSON()`: name, code, message, field, limit) when the input is invalid.
 */
export type EnqueueResponse = { readonly id: string } | { readonly ids: readonly string[] } | { readonly error: Record<string, unknown> };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Builds the event for one job from `enqueue(type, payload, options)` arguments. */
export function toJobEvent(type: string, payload: unknown, options: EnqueueOptions = {}): EnqueueJobEvent {
  const { runAt, ...rest } = options;
  return { ...rest, type, payload, ...(runAt !== undefined ? { runAt: runAt instanceof Date ? runAt.toISOString() : runAt } : {}) };
}

/**
 * Parses an enqueue event into requests for `JobQueue.enqueueMany`. The options are passed on
 * unchecked: `JobQueue` validates them (unknown keys included) before anything is written.
 * @param defaultKey gives the idempotency key of the i-th job when the caller gave none
 *   (`undefined`: no key)
 * @throws ValidationError if the event is not an object, `jobs` is not an array of objects, or a
 *   batch's `trace` is not a W3C trace context
 */
export function fromEnqueueEvent(
  event: unknown,
  defaultKey: (index: number) => string | undefined = () => undefined,
): { readonly batch: boolean; readonly requests: EnqueueRequest[]; readonly trace: TraceContext | null } {
  if (!isObject(event)) throw new ValidationError('event', 'an object { type, payload, ...options } or { jobs: [...] }');
  const batch = 'jobs' in event;
  if (batch && !Array.isArray(event.jobs)) throw new ValidationError('jobs', 'an array of { type, payload, ...options }');
  const list: unknown[] = batch ? (event.jobs as unknown[]) : [event];
  const requests = list.map((job, i): EnqueueRequest => {
    if (!isObject(job)) throw new ValidationError(batch ? `jobs[${i}]` : 'event', 'an object { type, payload, ...options }');
    const { type, payload, ...options } = job;
    // A debounced job takes no idempotency key (a debounced enqueue is meant to be repeated).
    const key = options.idempotencyKey === undefined && options.debounce === undefined ? defaultKey(i) : undefined;
    return { type: type as string, payload, options: key === undefined ? options : { ...options, idempotencyKey: key } };
  });
  const trace = batch && event.trace !== undefined ? validateTraceContext(event.trace, 'trace') : null;
  return { batch, requests, trace };
}

/** The error response for a typed error. */
export function toErrorResponse(error: JobTableError): { readonly error: Record<string, unknown> } {
  return { error: error.toJSON() };
}
