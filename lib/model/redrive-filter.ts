/**
 * The filter and options of a bulk redrive: validation (a {@link ValidationError} naming the field
 * before anything is read or written) and the match of one job against the filter. Pure.
 */
import { ValidationError } from '../errors.ts';
import { BATCH_GET_LIMIT } from '../schema.ts';
import type { RedriveOptions } from '../types.ts';
import { describe, LIMITS, validateDate, validateGroup, validateInteger, validateName } from './validate.ts';

/** Longest `errorContains` text. */
export const ERROR_FILTER_MAX_LENGTH = 1_000;

/** Most conditional writes a redrive keeps in flight. */
export const REDRIVE_CONCURRENCY_MAX = 64;

/** A redrive filter after validation; time bounds in epoch ms (`null`: unbounded). */
export interface NormalizedRedriveFilter {
  readonly queue: string;
  readonly status: 'failed' | 'cancelled';
  readonly type: string | null;
  /** Only jobs of this group (matched on the index entries, which hold it). */
  readonly group: string | null;
  readonly errorContains: string | null;
  readonly finishedAfterMs: number | null;
  readonly finishedBeforeMs: number | null;
  readonly createdAfterMs: number | null;
  readonly createdBeforeMs: number | null;
}

/** Redrive options after validation, with defaults applied. */
export interface NormalizedRedriveOptions {
  readonly cursor: string | null;
  readonly signal: AbortSignal | null;
  readonly onProgress: RedriveOptions['onProgress'] | null;
  readonly maxJobs: number;
  readonly dryRun: boolean;
  readonly pageSize: number;
  readonly concurrency: number;
}

const FILTER_KEYS = ['queue', 'status', 'type', 'group', 'errorContains', 'finishedAfter', 'finishedBefore', 'createdAfter', 'createdBefore'] as const;
const OPTION_KEYS = ['cursor', 'signal', 'onProgress', 'maxJobs', 'dryRun', 'pageSize', 'concurrency'] as const;

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function checkKeys(o: Record<string, unknown>, allowed: readonly string[], prefix: string): void {
  for (const key of Object.keys(o)) {
    if (!allowed.includes(key)) throw new ValidationError(`${prefix}${key}`, `one of ${allowed.join(', ')}`, `unknown field "${key.slice(0, 60)}"`);
  }
}

/** An `...After` / `...Before` pair: each a date, and the first before the second. */
function timeRange(o: Record<string, unknown>, after: string, before: string, field: (name: string) => string): [number | null, number | null] {
  const a = o[after] === undefined ? null : validateDate(o[after], field(after));
  const b = o[before] === undefined ? null : validateDate(o[before], field(before));
  if (a !== null && b !== null && b <= a) throw new ValidationError(field(before), `later than ${after}`, `${new Date(b).toISOString()} is not after ${new Date(a).toISOString()}`);
  return [a, b];
}

/**
 * Validates a redrive filter and applies defaults.
 * @param prefix a path prefix for error fields, e.g. `filter.`
 * @throws ValidationError naming the field and its limit
 */
export function validateRedriveFilter(filter: unknown, prefix = ''): NormalizedRedriveFilter {
  const field = (name: string) => `${prefix}${name}`;
  if (filter !== undefined && !isPlainObject(filter)) throw new ValidationError(prefix.replace(/\.$/, '') || 'filter', 'an object { queue?, status?, type?, group?, errorContains?, finishedAfter?, ... }', `expected an object, got ${describe(filter)}`);
  const o = (filter ?? {}) as Record<string, unknown>;
  checkKeys(o, FILTER_KEYS, prefix);
  const status = o.status ?? 'failed';
  if (status !== 'failed' && status !== 'cancelled') throw new ValidationError(field('status'), '"failed" (dead letters) or "cancelled"', `got ${describe(status)}`);
  const text = o.errorContains;
  if (text !== undefined && (typeof text !== 'string' || text.length === 0 || text.length > ERROR_FILTER_MAX_LENGTH)) {
    throw new ValidationError(field('errorContains'), `a string of 1 to ${ERROR_FILTER_MAX_LENGTH} characters`, `got ${describe(text)}`);
  }
  const [finishedAfterMs, finishedBeforeMs] = timeRange(o, 'finishedAfter', 'finishedBefore', field);
  const [createdAfterMs, createdBeforeMs] = timeRange(o, 'createdAfter', 'createdBefore', field);
  return {
    queue: o.queue === undefined ? 'default' : validateName(o.queue, field('queue'), LIMITS.queueMaxLength),
    status,
    type: o.type === undefined ? null : validateName(o.type, field('type'), LIMITS.typeMaxLength),
    group: o.group === undefined ? null : validateGroup(o.group, field('group')),
    errorContains: text === undefined ? null : (text as string),
    finishedAfterMs,
    finishedBeforeMs,
    createdAfterMs,
    createdBeforeMs,
  };
}

/**
 * Validates redrive options and applies defaults.
 * @throws ValidationError naming `options.<field>`
 */
export function validateRedriveOptions(options: unknown): NormalizedRedriveOptions {
  if (options !== undefined && !isPlainObject(options)) throw new ValidationError('options', 'an object', `expected an object, got ${describe(options)}`);
  const o = (options ?? {}) as Record<string, unknown>;
  checkKeys(o, OPTION_KEYS, 'options.');
  if (o.cursor !== undefined && (typeof o.cursor !== 'string' || o.cursor.length === 0)) throw new ValidationError('options.cursor', 'a cursor returned by redrive', `got ${describe(o.cursor)}`);
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) throw new ValidationError('options.signal', 'an AbortSignal', `got ${describe(o.signal)}`);
  if (o.onProgress !== undefined && typeof o.onProgress !== 'function') throw new ValidationError('options.onProgress', 'a function', `got ${describe(o.onProgress)}`);
  if (o.dryRun !== undefined && typeof o.dryRun !== 'boolean') throw new ValidationError('options.dryRun', 'true or false', `got ${describe(o.dryRun)}`);
  return {
    cursor: (o.cursor as string | undefined) ?? null,
    signal: (o.signal as AbortSignal | undefined) ?? null,
    onProgress: (o.onProgress as RedriveOptions['onProgress']) ?? null,
    maxJobs: o.maxJobs === undefined ? Number.MAX_SAFE_INTEGER : validateInteger(o.maxJobs, 'options.maxJobs', 1, Number.MAX_SAFE_INTEGER),
    dryRun: o.dryRun === true,
    pageSize: o.pageSize === undefined ? BATCH_GET_LIMIT : validateInteger(o.pageSize, 'options.pageSize', 1, BATCH_GET_LIMIT),
    concurrency: o.concurrency === undefined ? 8 : validateInteger(o.concurrency, 'options.concurrency', 1, REDRIVE_CONCURRENCY_MAX),
  };
}

/** True if the filter looks at more than the index holds (type, error text, creation time; the group is in the index). */
export function needsItems(f: NormalizedRedriveFilter): boolean {
  return f.type !== null || f.errorContains !== null || f.createdAfterMs !== null || f.createdBeforeMs !== null;
}

/** What the match of one job needs from its item (plain values as read). */
export interface RedriveCandidate {
  readonly status: string | undefined;
  readonly type: string | undefined;
  readonly group: string | undefined;
  readonly error: string | undefined;
  /** ISO time. */
  readonly createdAt: string | undefined;
  /** The index sort key: in the failed and cancelled lanes, the ISO time the job finished. */
  readonly runOrder: string | undefined;
  readonly redriveId: string | undefined;
  readonly expired: boolean;
}

/**
 * True if the job, as just read, matches a redrive that began at `asOfIso`: in the filter's lane,
 * finished within the filter's range and no later than `asOfIso`, with matching type, group, error
 * text and creation time. (Whether this redrive already put it back is the store's check.)
 */
export function matchesRedrive(c: RedriveCandidate, f: NormalizedRedriveFilter, asOfIso: string): boolean {
  if (c.expired || c.status !== f.status || c.runOrder === undefined) return false;
  if (c.runOrder > asOfIso || !withinRange(c.runOrder, f.finishedAfterMs, f.finishedBeforeMs)) return false;
  if (f.type !== null && c.type !== f.type) return false;
  if (f.group !== null && c.group !== f.group) return false;
  if (f.errorContains !== null && !(c.error ?? '').includes(f.errorContains)) return false;
  return c.createdAt !== undefined ? withinRange(c.createdAt, f.createdAfterMs, f.createdBeforeMs) : f.createdAfterMs === null && f.createdBeforeMs === null;
}

/** An ISO time within [after, before). */
function withinRange(isoTime: string, afterMs: number | null, beforeMs: number | null): boolean {
  const ms = Date.parse(isoTime);
  return (afterMs === null || ms >= afterMs) && (beforeMs === null || ms < beforeMs);
}
