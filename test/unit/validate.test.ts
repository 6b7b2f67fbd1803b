import { describe, expect, it } from 'vitest';
import { PayloadTooLargeError, ValidationError } from '../../lib/errors.ts';
import { toJsonValue } from '../../lib/model/json-value.ts';
import { attributeValueSize, itemSize } from '../../lib/model/item-size.ts';
import { validateEnqueue, validateDate, DEFAULTS } from '../../lib/model/validate.ts';
import { toItem } from '../../lib/model/codec.ts';

const NOW = Date.UTC(2026, 10, 22, 12, 0, 0);

/** Runs fn and returns the ValidationError it throws. */
function rejects(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    return e as ValidationError;
  }
  throw new Error('expected a ValidationError');
}

describe('validateEnqueue', () => {
  it('applies the defaults', () => {
    const n = validateEnqueue('send_email', { to: 'a@b.c' }, undefined, NOW);
    expect(n).toEqual({
      type: 'send_email',
      payload: { to: 'a@b.c' },
      queue: 'default',
      priority: 10,
      maxAttempts: 3,
      timeoutMs: 60_000,
      backoff: DEFAULTS.backoff,
      runAtMs: NOW,
      idempotencyKey: null,
      trace: null,
      group: null,
      debounce: null,
    });
  });

  it('accepts runAt as Date, ISO string or epoch ms, and delayMs', () => {
    const at = NOW + 60_000;
    expect(validateEnqueue('t', {}, { runAt: new Date(at) }, NOW).runAtMs).toBe(at);
    expect(validateEnqueue('t', {}, { runAt: new Date(at).toISOString() }, NOW).runAtMs).toBe(at);
    expect(validateEnqueue('t', {}, { runAt: at }, NOW).runAtMs).toBe(at);
    expect(validateEnqueue('t', {}, { delayMs: 1500 }, NOW).runAtMs).toBe(NOW + 1500);
    expect(validateEnqueue('t', {}, { runAt: '2030-01-01T09:00:00-05:00' }, NOW).runAtMs).toBe(Date.UTC(2030, 0, 1, 14));
    expect(validateEnqueue('t', {}, { runAt: '2030-01-01T09:00+0530' }, NOW).runAtMs).toBe(Date.UTC(2030, 0, 1, 3, 30));
  });

  it.each(['2030-01-01T09:00:00', '2030-01-01T09:00', '2030-01-01', 'January 1, 2030 09:00', '2030-01-01 09:00:00.000'])(
    'refuses the runAt string %j, which has no UTC offset (it would be read in the local time zone)',
    (runAt) => {
      const err = rejects(() => validateEnqueue('t', {}, { runAt }, NOW, 'jobs[2].'));
      expect(err.field).toBe('jobs[2].options.runAt');
      expect(err.limit).toMatch(/offset/);
      expect(err.message).toMatch(/offset/);
    },
  );

  it.each([
    ['empty type', () => validateEnqueue('', {}, {}, NOW), 'type'],
    ['type with spaces', () => validateEnqueue('send email', {}, {}, NOW), 'type'],
    ['type too long', () => validateEnqueue('a'.repeat(129), {}, {}, NOW), 'type'],
    ['type not a string', () => validateEnqueue(42, {}, {}, NOW), 'type'],
    ['queue with #', () => validateEnqueue('t', {}, { queue: 'a#b' }, NOW), 'options.queue'],
    ['priority not an integer', () => validateEnqueue('t', {}, { priority: 1.5 }, NOW), 'options.priority'],
    ['priority out of range', () => validateEnqueue('t', {}, { priority: 5000 }, NOW), 'options.priority'],
    ['maxAttempts zero', () => validateEnqueue('t', {}, { maxAttempts: 0 }, NOW), 'options.maxAttempts'],
    ['maxAttempts negative', () => validateEnqueue('t', {}, { maxAttempts: -1 }, NOW), 'options.maxAttempts'],
    ['timeoutMs zero', () => validateEnqueue('t', {}, { timeoutMs: 0 }, NOW), 'options.timeoutMs'],
    ['negative delay', () => validateEnqueue('t', {}, { delayMs: -1 }, NOW), 'options.delayMs'],
    ['NaN delay', () => validateEnqueue('t', {}, { delayMs: Number.NaN }, NOW), 'options.delayMs'],
    ['runAt and delayMs', () => validateEnqueue('t', {}, { delayMs: 1, runAt: new Date() }, NOW), 'options.delayMs'],
    ['invalid Date', () => validateEnqueue('t', {}, { runAt: new Date('nope') }, NOW), 'options.runAt'],
    ['unparseable date string', () => validateEnqueue('t', {}, { runAt: 'tomorrow-ish' }, NOW), 'options.runAt'],
    ['date before 1970', () => validateEnqueue('t', {}, { runAt: -1 }, NOW), 'options.runAt'],
    ['date past year 9999', () => validateEnqueue('t', {}, { runAt: 8.64e15 }, NOW), 'options.runAt'],
    ['backoff max below base', () => validateEnqueue('t', {}, { backoff: { baseMs: 100, maxMs: 10 } }, NOW), 'options.backoff.maxMs'],
    ['unknown option', () => validateEnqueue('t', {}, { prority: 5 }, NOW), 'options.prority'],
    ['options not an object', () => validateEnqueue('t', {}, 'fast', NOW), 'options'],
    ['empty idempotency key', () => validateEnqueue('t', {}, { idempotencyKey: '' }, NOW), 'options.idempotencyKey'],
    ['function in payload', () => validateEnqueue('t', { f: () => 1 }, {}, NOW), 'payload.f'],
    ['bigint in payload', () => validateEnqueue('t', { n: 10n }, {}, NOW), 'payload.n'],
    ['Infinity in payload', () => validateEnqueue('t', { n: Infinity }, {}, NOW), 'payload.n'],
    ['number beyond DynamoDB range', () => validateEnqueue('t', { n: 1e200 }, {}, NOW), 'payload.n'],
    ['number below DynamoDB range', () => validateEnqueue('t', { n: 1e-200 }, {}, NOW), 'payload.n'],
    ['Map in payload', () => validateEnqueue('t', { m: new Map() }, {}, NOW), 'payload.m'],
    ['lone surrogate', () => validateEnqueue('t', { s: 'a\uD800b' }, {}, NOW), 'payload.s'],
  ])('rejects %s, naming the field', (_name, fn, field) => {
    const err = rejects(fn);
    expect(err.field).toBe(field);
    expect(err.limit.length).toBeGreaterThan(0);
    expect(err.message).toContain(field);
  });

  it('rejects a cyclic payload', () => {
    const a: Record<string, unknown> = { x: 1 };
    a.self = a;
    expect(rejects(() => validateEnqueue('t', a, {}, NOW)).field).toBe('payload.self');
  });

  it('prefixes fields for batch entries', () => {
    expect(rejects(() => validateEnqueue('t', {}, { priority: 'high' }, NOW, 'jobs[3].')).field).toBe('jobs[3].options.priority');
  });
});

describe('toJsonValue', () => {
  it('keeps JSON, drops undefined object members, nulls undefined array items, uses toJSON', () => {
    const d = new Date(0);
    expect(toJsonValue({ a: 1, b: undefined, c: [undefined, 'x'], d }, 'p')).toEqual({ a: 1, c: [null, 'x'], d: d.toISOString() });
    expect(toJsonValue(undefined, 'p')).toBeNull();
    expect(toJsonValue(-0, 'p')).toBe(0);
  });

  it('allows 31 nested maps or lists (32 levels with the attribute) and rejects 32', () => {
    const nest = (n: number): unknown => (n === 0 ? 1 : { a: nest(n - 1) });
    expect(() => toJsonValue(nest(31), 'p')).not.toThrow();
    expect(() => toJsonValue(nest(32), 'p')).toThrow(/31 maps or lists/);
  });

  it('rejects numbers that JavaScript cannot hold exactly', () => {
    expect(() => toJsonValue({ n: 2 ** 53 }, 'p')).toThrow(ValidationError);
    expect(() => toJsonValue({ n: -1e20 }, 'p')).toThrow(/pass it as a string/);
    expect(toJsonValue({ n: Number.MAX_SAFE_INTEGER, f: 1.5e-100 }, 'p')).toEqual({ n: Number.MAX_SAFE_INTEGER, f: 1.5e-100 });
  });

  it('accepts the same object twice when it is not a cycle', () => {
    const shared = { k: 1 };
    expect(toJsonValue({ a: shared, b: shared }, 'p')).toEqual({ a: { k: 1 }, b: { k: 1 } });
  });
});

describe('validateDate', () => {
  it('floors fractional epoch ms', () => {
    expect(validateDate(1000.7, 'd')).toBe(1000);
  });
});

describe('itemSize', () => {
  it('counts names, UTF-8 strings, numbers and containers', () => {
    expect(attributeValueSize({ S: 'héllo' })).toBe(6);
    expect(attributeValueSize({ N: '12345' })).toBe(4);
    expect(attributeValueSize({ BOOL: true })).toBe(1);
    expect(itemSize(toItem({ id: 'abc', m: { k: 'v' }, l: [1, 2] }))).toBe(2 + 3 + 1 + (3 + 1 + 1 + 1) + 1 + (3 + 2 + 2 + 2));
  });

  it('PayloadTooLargeError names the field and the limit', () => {
    const e = new PayloadTooLargeError('payload', 500_000, 400_000);
    expect(e).toBeInstanceOf(ValidationError);
    expect(e.toJSON()).toMatchObject({ name: 'PayloadTooLargeError', field: 'payload', bytes: 500_000 });
  });
});
