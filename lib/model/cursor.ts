/**
 * The opaque cursors of resumable listings and bulk operations (`listJobs`, `redrive`, cancel by
 * filter): JSON in base64url. Each caller checks the fields of its own cursor.
 */
import { InvalidCursorError } from '../errors.ts';

/** A cursor's JSON as base64url. */
export function encodeCursor(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/**
 * The JSON object inside a cursor.
 * @throws InvalidCursorError (with `limit` and `problem`, if given) for anything that is not one
 */
export function parseCursor(raw: string, limit?: string, problem?: string): Record<string, unknown> {
  let c: unknown;
  try {
    c = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
  } catch (err) {
    throw new InvalidCursorError(err, limit, problem);
  }
  if (typeof c !== 'object' || c === null || Array.isArray(c)) throw new InvalidCursorError(undefined, limit, problem);
  return c as Record<string, unknown>;
}

/** True if `n` is a list of `length` progress counts (safe non-negative integers). */
export function isCountList(n: unknown, length: number): n is number[] {
  return Array.isArray(n) && n.length === length && n.every((x) => Number.isSafeInteger(x) && x >= 0);
}
