/** The pure part of dependencies and fan-in: child ids, validation, the waiting item, the count's forms. */
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../lib/errors.ts';
import { toItem } from '../../lib/model/codec.ts';
import { childJobId, childJobIds, dependencyOptions, refuseDependencyOptions, runsAtOnce, validateChildren, waitingItem } from '../../lib/model/dependencies.ts';
import { DEFAULT_RETENTION } from '../../lib/model/validate.ts';
import { countDependencyUpdate, nextVariant } from '../../lib/store/count-dependency.ts';
import type { StoreContext } from '../../lib/store/context.ts';

const ctx = { tableName: 'jobs', clock: { now: () => Date.UTC(2030, 0, 1) }, shardCount: 4, random: () => 0.5, retention: DEFAULT_RETENTION } as unknown as StoreContext;

describe('child ids', () => {
  it('derive from the parent id and the index, the same on every call', () => {
    expect(childJobId('p1', 0)).toBe(childJobId('p1', 0));
    expect(childJobId('p1', 0)).not.toBe(childJobId('p1', 1));
    expect(childJobId('p1', 0)).not.toBe(childJobId('p2', 0));
    expect(new Set(childJobIds('p1', 1_000)).size).toBe(1_000);
  });
});

describe('validation', () => {
  it('names the field and the limit of bad dependency options', () => {
    expect(dependencyOptions({})).toBeNull();
    expect(dependencyOptions({ dependsOn: ['a', 'b'] })).toEqual({ dependsOn: ['a', 'b'], onFailure: 'fail' });
    expect(() => dependencyOptions({ dependsOn: 'a' })).toThrow(/options.dependsOn/);
    expect(() => dependencyOptions({ dependsOn: ['a', 'a'] })).toThrow(/options.dependsOn\[1\].*twice/);
    expect(() => dependencyOptions({ dependsOn: Array.from({ length: 101 }, (_, i) => `j${i}`) })).toThrow(/1 to 100/);
    expect(() => dependencyOptions({ dependsOn: ['a'], onDependencyFailure: 'maybe' })).toThrow(ValidationError);
    expect(() => dependencyOptions({ onDependencyFailure: 'fail' })).toThrow(/only with dependsOn/);
    expect(() => refuseDependencyOptions({ idempotencyKey: 'k' }, 'children[2].', 'a child')).toThrow(/children\[2\].options.idempotencyKey/);
    expect(() => refuseDependencyOptions({ idempotencyKey: 'k' }, 'jobs[0].', 'enqueueMany')).not.toThrow();
    expect(() => validateChildren([])).toThrow(/1 to 1000 children/);
    expect(() => validateChildren(new Array(1_001).fill({ type: 'a', payload: {} }))).toThrow(/1001 children given: give 1 to 1000/);
  });
});

describe('the waiting item', () => {
  const base = toItem({ id: 'j', queue: 'q', status: 'pending', status_shard: 'q#due#03', run_order: '0#x', created_at: '2030-01-01T00:00:00.000Z' });
  it('moves a job that waits to the waiting lane of its shard, sorted by enqueue time', () => {
    const item = waitingItem(base, 3, { total: 2, left: 2, failed: 0, firstFailed: null, onFailure: 'fail', dependsOn: ['a', 'b'] });
    expect(item).toMatchObject({ status: { S: 'waiting' }, status_shard: { S: 'q#waiting#03' }, run_order: { S: '2030-01-01T00:00:00.000Z' }, deps_left: { N: '2' }, depends_on: { L: [{ S: 'a' }, { S: 'b' }] } });
  });
  it('keeps a job whose dependencies all finished pending, with its counters', () => {
    expect(runsAtOnce({ left: 0, failed: 0, onFailure: 'fail' })).toBe(true);
    expect(runsAtOnce({ left: 2, failed: 1, onFailure: 'fail' })).toBe(true);
    expect(runsAtOnce({ left: 2, failed: 1, onFailure: 'continue' })).toBe(false);
    expect(waitingItem(base, 3, { total: 1, left: 0, failed: 0, firstFailed: null, onFailure: 'fail' })).toMatchObject({ status: { S: 'pending' }, status_shard: { S: 'q#due#03' }, deps_total: { N: '1' } });
  });
});

describe('the count of a finished dependency', () => {
  it('refuses the releasing count in its plain form, so that it is sent as the release', () => {
    const count = countDependencyUpdate(ctx, 'parent', 'child', 'done', { kind: 'count' });
    expect(count.ConditionExpression).toBe('attribute_exists(#id) AND (#status <> :waiting OR NOT #left <= :one)');
    const waitingAtOne = toItem({ id: 'parent', status: 'waiting', deps_left: 1, queue: 'q', status_shard: 'q#waiting#02', priority: 5, run_at: '2029-12-31T00:00:00.000Z', on_dep_failure: 'fail' });
    const next = nextVariant(waitingAtOne, 'child', 'done');
    expect(next).toEqual({ kind: 'promote', queue: 'q', shard: 2, priority: 5, runAtMs: Date.UTC(2029, 11, 31) });
    const release = countDependencyUpdate(ctx, 'parent', 'child', 'done', next as Exclude<typeof next, string>);
    expect(release.ConditionExpression).toBe('#status = :waiting AND #left <= :one');
    expect(release.ExpressionAttributeValues![':due_shard']).toEqual({ S: 'q#due#02' });
  });
  it('releases at the first failure under policy fail, counts it under continue, and leaves out a job that is gone', () => {
    const waiting = (policy: string) => toItem({ id: 'p', status: 'waiting', deps_left: 5, queue: 'q', status_shard: 'q#waiting#00', priority: 0, run_at: '2030-01-01T00:00:00.000Z', on_dep_failure: policy });
    expect(nextVariant(waiting('fail'), 'c', 'failed')).toMatchObject({ kind: 'promote' });
    expect(nextVariant(waiting('continue'), 'c', 'failed')).toEqual({ kind: 'count' });
    expect(nextVariant(waiting('fail'), 'c', 'done')).toEqual({ kind: 'count' });
    expect(nextVariant(undefined, 'c', 'done')).toBe('gone');
    expect(nextVariant(toItem({ id: 'p', settled_deps: ['c'] }), 'c', 'done')).toBe('settled');
  });
});
