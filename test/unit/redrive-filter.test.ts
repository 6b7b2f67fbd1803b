/** The redrive filter, pure: defaults, validation, and which jobs match (time bounds, asOf, type, error). */
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../lib/errors.ts';
import { matchesRedrive, needsItems, validateRedriveFilter, validateRedriveOptions } from '../../lib/model/redrive-filter.ts';
import type { RedriveCandidate } from '../../lib/model/redrive-filter.ts';

const T = Date.parse('2030-01-01T12:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();
const job = (o: Partial<RedriveCandidate> = {}): RedriveCandidate => ({ status: 'failed', type: 'sync', group: undefined, error: 'upstream 503: timed out', createdAt: iso(T - 60_000), runOrder: iso(T), redriveId: undefined, expired: false, ...o });

describe('redrive filter', () => {
  it('defaults to the dead letters of the default queue, and needs items only for type, error or creation time', () => {
    const f = validateRedriveFilter(undefined);
    expect(f).toEqual({ queue: 'default', status: 'failed', type: null, group: null, errorContains: null, finishedAfterMs: null, finishedBeforeMs: null, createdAfterMs: null, createdBeforeMs: null });
    expect(needsItems(f)).toBe(false);
    expect(needsItems(validateRedriveFilter({ finishedAfter: T }))).toBe(false);
    expect(needsItems(validateRedriveFilter({ type: 'x' }))).toBe(true);
    expect(needsItems(validateRedriveFilter({ createdBefore: T }))).toBe(true);
    expect(validateRedriveOptions(undefined)).toMatchObject({ pageSize: 100, concurrency: 8, dryRun: false, cursor: null });
  });

  it('matches on lane, type and error text, and never a job finished after the redrive began or expired', () => {
    const f = validateRedriveFilter({ type: 'sync', errorContains: 'upstream 503' });
    expect(matchesRedrive(job(), f, iso(T))).toBe(true);
    expect(matchesRedrive(job({ runOrder: iso(T + 1) }), f, iso(T))).toBe(false);
    expect(matchesRedrive(job({ status: 'cancelled' }), f, iso(T))).toBe(false);
    expect(matchesRedrive(job({ type: 'other' }), f, iso(T))).toBe(false);
    expect(matchesRedrive(job({ error: 'Upstream 503' }), f, iso(T))).toBe(false);
    expect(matchesRedrive(job({ error: undefined }), f, iso(T))).toBe(false);
    expect(matchesRedrive(job({ expired: true }), f, iso(T))).toBe(false);
    expect(matchesRedrive(job({ status: 'cancelled' }), validateRedriveFilter({ status: 'cancelled' }), iso(T))).toBe(true);
  });

  it('matches on the group, which the index holds (no item read for it); a malformed group is refused, naming the field', () => {
    const f = validateRedriveFilter({ group: 'acme' });
    expect(needsItems(f)).toBe(false);
    expect(matchesRedrive(job({ group: 'acme' }), f, iso(T))).toBe(true);
    expect(matchesRedrive(job({ group: 'globex' }), f, iso(T))).toBe(false);
    expect(matchesRedrive(job(), f, iso(T))).toBe(false);
    expect(() => validateRedriveFilter({ group: 'no spaces' }, 'filter.')).toThrow(expect.objectContaining({ name: 'ValidationError', field: 'filter.group' }));
  });

  it('takes After bounds as inclusive and Before bounds as exclusive', () => {
    const finished = validateRedriveFilter({ finishedAfter: T, finishedBefore: T + 1_000 });
    expect(matchesRedrive(job({ runOrder: iso(T) }), finished, iso(T + 5_000))).toBe(true);
    expect(matchesRedrive(job({ runOrder: iso(T + 999) }), finished, iso(T + 5_000))).toBe(true);
    expect(matchesRedrive(job({ runOrder: iso(T + 1_000) }), finished, iso(T + 5_000))).toBe(false);
    expect(matchesRedrive(job({ runOrder: iso(T - 1) }), finished, iso(T + 5_000))).toBe(false);
    const created = validateRedriveFilter({ createdAfter: T - 60_000, createdBefore: iso(T) });
    expect(matchesRedrive(job(), created, iso(T))).toBe(true);
    expect(matchesRedrive(job({ createdAt: iso(T) }), created, iso(T))).toBe(false);
    expect(matchesRedrive(job({ createdAt: undefined }), created, iso(T))).toBe(false);
  });

  it('names the field and the limit of a bad filter or option', () => {
    const field = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        expect(err).toBeInstanceOf(ValidationError);
        return (err as ValidationError).field;
      }
      throw new Error('no error');
    };
    expect(field(() => validateRedriveFilter('failed', 'filter.'))).toBe('filter');
    expect(field(() => validateRedriveFilter({ errorContains: 'x'.repeat(1_001) }))).toBe('errorContains');
    expect(field(() => validateRedriveFilter({ createdAfter: T, createdBefore: T }))).toBe('createdBefore');
    expect(field(() => validateRedriveOptions({ signal: 'stop' }))).toBe('options.signal');
    expect(field(() => validateRedriveOptions({ onProgress: 1 }))).toBe('options.onProgress');
    expect(field(() => validateRedriveOptions({ dryRun: 'yes' }))).toBe('options.dryRun');
    expect(field(() => validateRedriveOptions({ cursor: '' }))).toBe('options.cursor');
    expect(field(() => validateRedriveOptions({ limit: 5 }))).toBe('options.limit');
  });
});
