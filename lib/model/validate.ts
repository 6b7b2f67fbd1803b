/**
 * Validation of everything a caller passes in, before anything is written. Pure: takes the
 * current time as an argument. Every failure is a {@link ValidationError} naming the field and
 * the limit.
 */
import { ValidationError } from '../errors.ts';
import { PRIORITY_MAX, PRIORITY_MIN, MAX_SHARD_COUNT } from '../schema.ts';
import { JOB_STATUSES, Priority } from '../types.ts';
import type { BackoffOptions, JobStatus, RetentionOptions, TraceContext } from '../types.ts';
import { DEFAULT_BACKOFF } from './backoff.ts';
import { validateDebounce } from './debounce.ts';
import type { NormalizedDebounce } from './debounce.ts';
import { isWellFormedString, toJsonValue } from './json-value.ts';
import type { JsonValue } from './json-value.ts';

/** Limits on job fields. */
export const LIMITS = {
  typeMaxLength: 128,
  queueMaxLength: 64,
  idempotencyKeyMaxLength: 256,
  maxAttempts: 1_000,
  /** 24 hours: a local worker may run long jobs; a Lambda worker is capped at 15 minutes anyway. */
  timeoutMsMax: 86_400_000,
  /** Delays and due times up to ten years ahead. */
  delayMsMax: 10 * 365 * 86_400_000,
  backoffMsMax: 7 * 86_400_000,
  listLimitMax: 1_000,
  /** Jobs in one enqueueMany call. */
  enqueueManyMax: 10_000,
  /** A job's group (`options.group`). */
  groupMaxLength: 128,
} as const;

/** Default values of enqueue options. */
export const DEFAULTS = {
  queue: 'default',
  priority: Priority.NORMAL,
  maxAttempts: 3,
  timeoutMs: 60_000,
  backoff: DEFAULT_BACKOFF,
} as const;

/** Default retention of finished jobs. */
export const DEFAULT_RETENTION: Required<RetentionOptions> = {
  completedMs: 7 * 86_400_000,
  failedMs: 30 * 86_400_000,
  cancelledMs: 30 * 86_400_000,
};

/** Job types and queue names: a letter or digit, then letters, digits and `_ - . : /`. */
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_\-.:/]*$/;
const NAME_RULE = 'a letter or digit followed by letters, digits or _ - . : /';

/** An enqueue request after validation, with defaults applied. */
export interface NormalizedEnqueue {
  readonly type: string;
  readonly payload: JsonValue;
  readonly queue: string;
  readonly priority: number;
  readonly maxAttempts: number;
  readonly timeoutMs: number;
  readonly backoff: Required<BackoffOptions>;
  readonly runAtMs: number;
  readonly idempotencyKey: string | null;
  /** The trace context given explicitly (`options.trace`), if any. */
  readonly trace: TraceContext | null;
  /** The job's group (`options.group`), if any. */
  readonly group: string | null;
  /** The debounce key and window (`options.debounce`), if any; the job is then due at now + window. */
  readonly debounce: NormalizedDebounce | null;
}

const ENQUEUE_OPTION_KEYS = new Set(['runAt', 'delayMs', 'priority', 'queue', 'maxAttempts', 'timeoutMs', 'backoff', 'idempotencyKey', 'trace', 'group', 'debounce', 'dependsOn', 'onDependencyFailure']);

/** A job's group: 1 to 128 characters of letters, digits and `_ . : @ / -` (no `#`, which limit keys use). */
const GROUP_PATTERN = /^[A-Za-z0-9_.:@/-]+$/;

/** Checks a job's group (`options.group`): 1 to {@link LIMITS.groupMaxLength} characters of `A-Z a-z 0-9 _ . : @ / -`. */
export function validateGroup(value: unknown, field: string): string {
  const limit = `a string of 1 to ${LIMITS.groupMaxLength} characters of A-Z a-z 0-9 _ . : @ / -`;
  if (typeof value !== 'string') throw new ValidationError(field, limit, `expected a string, got ${describe(value)}`);
  if (value.length === 0 || value.length > LIMITS.groupMaxLength) throw new ValidationError(field, limit, `length ${value.length} is outside 1 to ${LIMITS.groupMaxLength}`);
  if (!GROUP_PATTERN.test(value)) throw new ValidationError(field, limit, `"${truncate(value)}" has characters outside A-Z a-z 0-9 _ . : @ / -`);
  return value;
}

/** A W3C `traceparent`: version, trace id, parent id, flags (lower-case hex). */
const TRACEPARENT_PATTERN = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
/** Longest `tracestate` kept (the W3C recommendation for what to propagate). */
export const TRACESTATE_MAX_LENGTH = 512;

/** Checks a W3C trace context (`options.trace`). */
export function validateTraceContext(value: unknown, field: string): TraceContext {
  if (!isPlainObject(value)) throw new ValidationError(field, 'an object { traceparent, tracestate? }', `expected an object, got ${describe(value)}`);
  for (const key of Object.keys(value)) {
    if (key !== 'traceparent' && key !== 'tracestate') throw new ValidationError(`${field}.${key}`, 'one of traceparent, tracestate', `unknown option "${truncate(key)}"`);
  }
  const rule = 'a W3C traceparent: 00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>, ids not all zero';
  const m = typeof value.traceparent === 'string' ? TRACEPARENT_PATTERN.exec(value.traceparent) : null;
  if (!m || m[1] === 'ff' || /^0+$/.test(m[2]!) || /^0+$/.test(m[3]!)) throw new ValidationError(`${field}.traceparent`, rule, `got ${describe(value.traceparent)}`);
  const state = value.tracestate;
  if (state !== undefined && (typeof state !== 'string' || state.length > TRACESTATE_MAX_LENGTH || !/^[\x20-\x7e]*$/.test(state))) {
    throw new ValidationError(`${field}.tracestate`, `printable ASCII of at most ${TRACESTATE_MAX_LENGTH} characters`, `got ${describe(state)}`);
  }
  return { traceparent: value.traceparent as string, ...(state ? { tracestate: state } : {}) };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Checks a job type or queue name. */
export function validateName(value: unknown, field: string, maxLength: number): string {
  const limit = `a string of 1 to ${maxLength} characters: ${NAME_RULE}`;
  if (typeof value !== 'string') throw new ValidationError(field, limit, `expected a string, got ${describe(value)}`);
  if (value.length === 0 || value.length > maxLength) throw new ValidationError(field, limit, `length ${value.length} is outside 1 to ${maxLength}`);
  if (!NAME_PATTERN.test(value)) throw new ValidationError(field, limit, `"${truncate(value)}" has characters outside ${NAME_RULE}`);
  return value;
}

/** Checks an integer within [min, max]. */
export function validateInteger(value: unknown, field: string, min: number, max: number): number {
  const limit = `an integer from ${min} to ${max}`;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new ValidationError(field, limit, `expected ${limit}, got ${describe(value)}`);
  if (value < min || value > max) throw new ValidationError(field, limit, `${value} is outside ${min} to ${max}`);
  return value;
}

/**
 * An ISO-8601 date and time with a UTC offset (`Z`, `+02:00`, `-0500`). Without one, `Date.parse`
 * reads the time in the local time zone of whoever parses it, so the same string would mean
 * different instants for different producers.
 */
const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}(?::?\d{2})?)$/i;

/**
 * Parses a due time: a Date, an ISO-8601 string with a UTC offset, or epoch milliseconds, from
 * 1970 to 9999.
 */
export function validateDate(value: unknown, field: string): number {
  const limit = 'a valid date (Date, ISO-8601 string with a UTC offset such as Z or +02:00, or epoch milliseconds) between 1970 and 9999';
  let ms: number;
  if (value instanceof Date) ms = value.getTime();
  else if (typeof value === 'string') {
    ms = value.trim() === '' ? Number.NaN : Date.parse(value);
    if (Number.isFinite(ms) && !ISO_WITH_OFFSET.test(value.trim())) {
      throw new ValidationError(field, limit, `"${truncate(value)}" has no UTC offset (add Z or an offset such as +02:00); without one it would be read in the producer's local time zone`);
    }
  }
  else if (typeof value === 'number') ms = value;
  else throw new ValidationError(field, limit, `expected a date, got ${describe(value)}`);
  if (!Number.isFinite(ms)) throw new ValidationError(field, limit, 'is not a valid date');
  if (typeof value === 'string' && !calendarDayExists(value)) throw new ValidationError(field, limit, `"${truncate(value)}" names a day its month does not have`);
  if (ms < 0 || ms > Date.UTC(9999, 11, 31, 23, 59, 59, 999)) throw new ValidationError(field, limit, `${new Date(ms).toISOString?.() ?? ms} is outside 1970 to 9999`);
  return Math.floor(ms);
}

/** False for an ISO-style `YYYY-MM-DD` prefix naming a day its month lacks (Date.parse rolls `02-31` over to March). */
function calendarDayExists(value: string): boolean {
  const m = /^\s*([+-]?\d{4,6})-(\d{2})-(\d{2})/.exec(value);
  if (!m) return true;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return month >= 1 && month <= 12 && day >= 1 && day <= new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/**
 * Validates `enqueue(type, payload, options)` and applies defaults.
 * @param nowMs the current time
 * @param prefix a path prefix for error fields, e.g. `jobs[3].`
 */
export function validateEnqueue(type: unknown, payload: unknown, options: unknown, nowMs: number, prefix = ''): NormalizedEnqueue {
  const f = (name: string) => `${prefix}${name}`;
  const jobType = validateName(type, f('type'), LIMITS.typeMaxLength);
  if (options !== undefined && options !== null && !isPlainObject(options)) {
    throw new ValidationError(f('options'), 'an object', `expected an object, got ${describe(options)}`);
  }
  const o = (options ?? {}) as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!ENQUEUE_OPTION_KEYS.has(key)) {
      throw new ValidationError(f(`options.${key}`), `one of ${[...ENQUEUE_OPTION_KEYS].join(', ')}`, `unknown option "${truncate(key)}"`);
    }
  }
  const queue = o.queue === undefined ? DEFAULTS.queue : validateName(o.queue, f('options.queue'), LIMITS.queueMaxLength);
  const priority = o.priority === undefined ? DEFAULTS.priority : validateInteger(o.priority, f('options.priority'), PRIORITY_MIN, PRIORITY_MAX);
  const maxAttempts = o.maxAttempts === undefined ? DEFAULTS.maxAttempts : validateInteger(o.maxAttempts, f('options.maxAttempts'), 1, LIMITS.maxAttempts);
  const timeoutMs = o.timeoutMs === undefined ? DEFAULTS.timeoutMs : validateInteger(o.timeoutMs, f('options.timeoutMs'), 1, LIMITS.timeoutMsMax);
  const backoff = validateBackoff(o.backoff, f('options.backoff'));

  if (o.runAt !== undefined && o.delayMs !== undefined) {
    throw new ValidationError(f('options.delayMs'), 'not given together with runAt', 'give either runAt or delayMs, not both');
  }
  let runAtMs = nowMs;
  if (o.delayMs !== undefined) {
    const d = o.delayMs;
    const limit = `a number of milliseconds from 0 to ${LIMITS.delayMsMax}`;
    if (typeof d !== 'number' || !Number.isFinite(d)) throw new ValidationError(f('options.delayMs'), limit, `expected a number, got ${describe(d)}`);
    if (d < 0) throw new ValidationError(f('options.delayMs'), limit, `${d} is negative`);
    if (d > LIMITS.delayMsMax) throw new ValidationError(f('options.delayMs'), limit, `${d} is more than ten years`);
    runAtMs = nowMs + Math.ceil(d);
  } else if (o.runAt !== undefined) {
    runAtMs = validateDate(o.runAt, f('options.runAt'));
    if (runAtMs > nowMs + LIMITS.delayMsMax) {
      throw new ValidationError(f('options.runAt'), 'at most ten years ahead', `${new Date(runAtMs).toISOString()} is more than ten years ahead`);
    }
  }

  let idempotencyKey: string | null = null;
  if (o.idempotencyKey !== undefined) {
    const k = o.idempotencyKey;
    const limit = `a string of 1 to ${LIMITS.idempotencyKeyMaxLength} characters`;
    if (typeof k !== 'string') throw new ValidationError(f('options.idempotencyKey'), limit, `expected a string, got ${describe(k)}`);
    if (k.length === 0 || k.length > LIMITS.idempotencyKeyMaxLength) throw new ValidationError(f('options.idempotencyKey'), limit, `length ${k.length} is outside 1 to ${LIMITS.idempotencyKeyMaxLength}`);
    if (!isWellFormedString(k)) throw new ValidationError(f('options.idempotencyKey'), 'well-formed Unicode text', 'contains a lone UTF-16 surrogate');
    idempotencyKey = k;
  }

  const trace = o.trace === undefined ? null : validateTraceContext(o.trace, f('options.trace'));
  const group = o.group === undefined ? null : validateGroup(o.group, f('options.group'));
  const debounce = validateDebounce(o, f('options.debounce'));
  if (debounce) runAtMs = nowMs + debounce.windowMs;
  const jsonPayload = toJsonValue(payload, f('payload'));
  return { type: jobType, payload: jsonPayload, queue, priority, maxAttempts, timeoutMs, backoff, runAtMs, idempotencyKey, trace, group, debounce };
}

/** Validates backoff options and applies defaults. */
export function validateBackoff(value: unknown, field: string): Required<BackoffOptions> {
  if (value === undefined) return DEFAULTS.backoff;
  if (!isPlainObject(value)) throw new ValidationError(field, 'an object { baseMs, maxMs }', `expected an object, got ${describe(value)}`);
  for (const key of Object.keys(value)) {
    if (key !== 'baseMs' && key !== 'maxMs') throw new ValidationError(`${field}.${key}`, 'one of baseMs, maxMs', `unknown option "${truncate(key)}"`);
  }
  const baseMs = value.baseMs === undefined ? DEFAULTS.backoff.baseMs : validateInteger(value.baseMs, `${field}.baseMs`, 0, LIMITS.backoffMsMax);
  const maxMs = value.maxMs === undefined ? Math.max(DEFAULTS.backoff.maxMs, baseMs) : validateInteger(value.maxMs, `${field}.maxMs`, 0, LIMITS.backoffMsMax);
  if (maxMs < baseMs) throw new ValidationError(`${field}.maxMs`, `at least baseMs (${baseMs})`, `${maxMs} is less than baseMs ${baseMs}`);
  return { baseMs, maxMs };
}

/** Validates a DynamoDB table name: 3 to 255 characters of a-z, A-Z, 0-9, `_`, `-`, `.`. */
export function validateTableName(value: unknown, field = 'tableName'): string {
  const limit = "3 to 255 characters of a-z, A-Z, 0-9, '_', '-' and '.'";
  if (typeof value !== 'string' || !/^[A-Za-z0-9_.-]{3,255}$/.test(value)) throw new ValidationError(field, limit, `got ${describe(value)}`);
  return value;
}

/** Validates a job id (as read from a caller). */
export function validateJobId(value: unknown, field = 'id'): string {
  const limit = 'a job id: a string of 1 to 64 characters';
  if (typeof value !== 'string') throw new ValidationError(field, limit, `expected a string, got ${describe(value)}`);
  if (value.length === 0 || value.length > 64 || !/^[A-Za-z0-9_-]+$/.test(value)) throw new ValidationError(field, limit, `"${truncate(value)}" is not a job id`);
  return value;
}

/** Validates a status filter. */
export function validateStatus(value: unknown, field = 'status'): JobStatus {
  if (typeof value !== 'string' || !(JOB_STATUSES as readonly string[]).includes(value)) {
    throw new ValidationError(field, `one of ${JOB_STATUSES.join(', ')}`, `got ${describe(value)}`);
  }
  return value as JobStatus;
}

/** Validates a list page size. */
export function validateListLimit(value: unknown, field = 'limit'): number {
  return value === undefined ? 50 : validateInteger(value, field, 1, LIMITS.listLimitMax);
}

/** Validates a shard count. */
export function validateShardCount(value: unknown, field = 'shardCount'): number {
  return validateInteger(value, field, 1, MAX_SHARD_COUNT);
}

/** Validates retention options and applies defaults. */
export function validateRetention(value: RetentionOptions | undefined): Required<RetentionOptions> {
  const r = { ...DEFAULT_RETENTION, ...(value ?? {}) };
  for (const key of ['completedMs', 'failedMs', 'cancelledMs'] as const) {
    validateInteger(r[key], `retention.${key}`, 0, 10 * 365 * 86_400_000);
  }
  return r;
}

function truncate(s: string, max = 60): string {
  return s.length > max ? `${s.slice(0, max)}...` : s;
}

/** A short description of a value's type, for error messages. */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  if (typeof v === 'string') return `the string "${truncate(v, 40)}"`;
  return typeof v === 'object' ? 'an object' : `a ${typeof v}${typeof v === 'number' || typeof v === 'boolean' ? ` (${String(v)})` : ''}`;
}
