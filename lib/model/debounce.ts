/**
 * Debounce (issue 12), the pure part: validation of the enqueue option, the id of a key's pointer
 * item, and the order stamp that defines which of two enqueues is the "last". See docs/design.md,
 * "Debounce".
 */
import { randomBytes } from 'node:crypto';
import { ValidationError } from '../errors.ts';
import type { DebounceOptions } from '../types.ts';

/** Limits of the debounce option. */
export const DEBOUNCE_LIMITS = {
  keyMaxLength: 128,
  /** Longest quiet window: one day. */
  windowMsMax: 86_400_000,
} as const;

/** Debounce keys (and group names): 1 to 128 characters of these. */
export const KEY_PATTERN = /^[A-Za-z0-9_.:@/-]+$/;
const KEY_RULE = 'letters, digits or _ . : @ / -';

/** A debounce option after validation. */
export interface NormalizedDebounce {
  readonly key: string;
  readonly windowMs: number;
}

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string "${v.slice(0, 40)}"`;
  return typeof v === 'object' ? 'an object' : `${typeof v} ${String(v)}`;
}

/**
 * Checks a key (debounce key, group name): a string of 1 to `maxLength` characters of
 * `A-Z a-z 0-9 _ . : @ / -`.
 */
export function validateKey(value: unknown, field: string, maxLength: number = DEBOUNCE_LIMITS.keyMaxLength): string {
  const limit = `a string of 1 to ${maxLength} characters: ${KEY_RULE}`;
  if (typeof value !== 'string') throw new ValidationError(field, limit, `expected a string, got ${describeValue(value)}`);
  if (value.length === 0 || value.length > maxLength) throw new ValidationError(field, limit, `length ${value.length} is outside 1 to ${maxLength}`);
  if (!KEY_PATTERN.test(value)) throw new ValidationError(field, limit, `"${value.slice(0, 60)}" has characters outside ${KEY_RULE}`);
  return value;
}

/**
 * Validates `options.debounce` and the options it excludes: an idempotency key (a debounced
 * enqueue is meant to be repeated), and `runAt`/`delayMs` (the window sets the due time).
 * @param o the enqueue options object
 * @param field the path of the debounce option, e.g. `options.debounce` or `jobs[3].options.debounce`
 */
export function validateDebounce(o: Record<string, unknown>, field: string): NormalizedDebounce | null {
  const value = o.debounce;
  if (value === undefined) return null;
  const limit = 'an object { key, windowMs }';
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ValidationError(field, limit, `expected an object, got ${describeValue(value)}`);
  for (const k of Object.keys(value)) {
    if (k !== 'key' && k !== 'windowMs') throw new ValidationError(`${field}.${k.slice(0, 40)}`, 'one of key, windowMs', `unknown option "${k.slice(0, 40)}"`);
  }
  const d = value as Partial<DebounceOptions>;
  const key = validateKey(d.key, `${field}.key`);
  const windowLimit = `an integer number of milliseconds from 1 to ${DEBOUNCE_LIMITS.windowMsMax} (one day)`;
  const w = d.windowMs;
  if (typeof w !== 'number' || !Number.isInteger(w)) throw new ValidationError(`${field}.windowMs`, windowLimit, `expected an integer, got ${describeValue(w)}`);
  if (w < 1 || w > DEBOUNCE_LIMITS.windowMsMax) throw new ValidationError(`${field}.windowMs`, windowLimit, `${w} is outside 1 to ${DEBOUNCE_LIMITS.windowMsMax}`);
  for (const other of ['idempotencyKey', 'runAt', 'delayMs'] as const) {
    if (o[other] !== undefined) throw new ValidationError(field, `not given together with ${other}`, `give either debounce or ${other}, not both`);
  }
  return { key, windowMs: w };
}

/** The id of the pointer item of a debounce key: `debounce#<queue>#<key>` (never a job id: `#`). */
export function debouncePointerId(queue: string, key: string): string {
  return `debounce#${queue}#${key}`;
}

/**
 * Order stamps of one producer (one `JobQueue`): `<ms, 15 digits>#<seq, 9 digits>#<producer tag>`.
 * Stamps compare as strings. "Last" means the latest stamp: by the producer's clock, then, within
 * one producer and one millisecond, by call order (a clock that steps back never makes a later call
 * of the same producer smaller); two producers in the same millisecond are ordered by their
 * random tags.
 */
export class DebounceStamper {
  private lastMs = 0;
  private seq = 0;
  private readonly tag = randomBytes(4).toString('hex');

  /** The stamp of an enqueue made at `nowMs`. */
  next(nowMs: number): string {
    const ms = Math.max(nowMs, this.lastMs);
    this.seq = ms === this.lastMs ? this.seq + 1 : 0;
    this.lastMs = ms;
    return `${String(ms).padStart(15, '0')}#${String(this.seq).padStart(9, '0')}#${this.tag}`;
  }
}
