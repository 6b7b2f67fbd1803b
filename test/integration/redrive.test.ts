/**
 * Bulk redrive against DynamoDB Local: 1,000 dead letters by filter, interrupted halfway and
 * resumed (each job put back once, even though the jobs put back in the first half ran and failed
 * again before the resume), a replayed cursor, a worker clock behind the redrive's, time ranges,
 * cancelled jobs, dry runs, bad input, and the write units per job.
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CapacityMeter } from '../../bench/lib/capacity.ts';
import { InvalidCursorError, JobQueue, PermanentJobError, ValidationError } from '../../lib/index.ts';
import type { Handlers, RedriveProgress } from '../../lib/index.ts';
import { freshQueue, testClient } from '../helpers/ddb.ts';

let queue: JobQueue;
let client: DynamoDBClient;
let tableName: string;
let cleanup: () => Promise<void>;

beforeAll(async () => ({ queue, client, tableName, cleanup } = await freshQueue()));
afterAll(async () => cleanup());

/** Handler runs per job id. */
const runs = new Map<string, number>();
const count = (id: string) => runs.set(id, (runs.get(id) ?? 0) + 1);

/** Every job fails for good with the error its payload names. */
const failing: Handlers<Record<string, { error: string }>> = {
  sync: (p: { error: string }, ctx) => {
    count(ctx.job.id);
    throw new PermanentJobError(p.error);
  },
  other: (p: { error: string }, ctx) => {
    count(ctx.job.id);
    throw new PermanentJobError(p.error);
  },
};

async function enqueueAll(q: JobQueue, n: number, type: string, error: string, queueName: string, extra: Record<string, unknown> = {}): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i += 500) {
    ids.push(...(await q.enqueueMany(Array.from({ length: Math.min(500, n - i) }, (_, j) => ({ type, payload: { error, i: i + j }, options: { queue: queueName, maxAttempts: 1, ...extra } })))));
  }
  return ids;
}

async function drainQueue(q: JobQueue, name: string): Promise<void> {
  // Modest concurrency: other test files share this DynamoDB Local.
  const report = await q.processJobs(failing, { queue: name, concurrency: 8 });
  expect(report.stoppedBecause).toBe('drained');
}

async function redriveIdOf(id: string): Promise<string | undefined> {
  const res = await client.send(new GetItemCommand({ TableName: tableName, Key: { id: { S: id } }, ConsistentRead: true }));
  return res.Item?.redrive_id?.S;
}

describe('bulk redrive', () => {
  it('redrives 1,000 dead letters by filter, interrupted halfway and resumed: each job once', async () => {
    const q = 'big';
    // Four shards (a sweep is 8 queries, not 32), so that draining 2,000 runs loads the shared server less.
    const queue = new JobQueue({ tableName, client, shardCount: 4 });
    const matching = await enqueueAll(queue, 1_000, 'sync', 'upstream 503: timed out', q);
    const otherError = await enqueueAll(queue, 40, 'sync', 'bad input', q);
    const otherType = await enqueueAll(queue, 40, 'other', 'upstream 503: timed out', q);
    const cancelled = await enqueueAll(queue, 10, 'sync', 'upstream 503: timed out', q, { delayMs: 3_600_000 });
    for (const id of cancelled) expect(await queue.cancelJob(id)).toBe(true);
    await drainQueue(queue, q);
    expect(runs.size).toBe(1_080);

    const filter = { queue: q, type: 'sync', errorContains: 'upstream 503' };
    const dry = await queue.redrive(filter, { dryRun: true });
    expect(dry).toMatchObject({ complete: true, candidates: 1_080, examined: 1_080, matched: 1_000, redriven: 0, dryRun: true });
    expect((await queue.stats({ queue: q })).counts.failed).toBe(1_080);

    // First call: aborted once half the lane was examined.
    const controller = new AbortController();
    const seen: RedriveProgress[] = [];
    const first = await queue.redrive(filter, {
      pageSize: 50,
      signal: controller.signal,
      onProgress: (p) => {
        seen.push(p);
        if (p.examined >= 540) controller.abort();
      },
    });
    expect(first.complete).toBe(false);
    expect(first.cursor).toBeDefined();
    expect(first.candidates).toBe(1_080);
    expect(first.redriven).toBeGreaterThan(0);
    expect(first.redriven).toBeLessThan(1_000);
    expect(seen[0]).toMatchObject({ examined: 0, redriven: 0 });
    expect(seen.at(-1)).toEqual(first);

    // The jobs put back so far run and fail again before the redrive resumes.
    await drainQueue(queue, q);
    const resumed = await queue.redrive(filter, { cursor: first.cursor!, pageSize: 50 });
    expect(resumed).toMatchObject({ complete: true, redriveId: first.redriveId, redriven: 1_000, skipped: 0, examined: 1_080 });
    expect(resumed.cursor).toBeUndefined();
    await drainQueue(queue, q);

    // Replaying an early cursor (as after a crash that lost the later ones) puts nothing back again.
    const early = seen.find((p) => p.examined >= 200)!;
    const replay = await queue.redrive(filter, { cursor: early.cursor!, pageSize: 50 });
    expect(replay.redriven).toBe(early.redriven);
    expect(replay.complete).toBe(true);
    await drainQueue(queue, q);

    for (const id of matching) expect(runs.get(id)).toBe(2);
    for (const id of [...otherError, ...otherType]) expect(runs.get(id)).toBe(1);
    for (const id of cancelled) expect(runs.get(id)).toBeUndefined();
    expect(await redriveIdOf(matching[0]!)).toBe(first.redriveId);
    expect(await redriveIdOf(otherType[0]!)).toBeUndefined();
    expect((await queue.stats({ queue: q })).counts).toMatchObject({ failed: 1_080, cancelled: 10, pending: 0 });
  }, 300_000); // about 20 s alone; four drains of up to 1,080 jobs take longer when the whole suite shares two cores

  it('puts a job back once per redrive even when a worker whose clock is behind fails it again within the redrive', async () => {
    const q = 'skew';
    const ids = await enqueueAll(queue, 30, 'sync', 'boom', q);
    await drainQueue(queue, q);
    // The redrive begins on a host whose clock is a minute ahead (its asOf is a minute late), so
    // jobs that workers fail again during the redrive still look finished before asOf.
    const ahead = new JobQueue({ tableName, client, clock: { now: () => Date.now() + 60_000 } });
    const start = await ahead.redrive({ queue: q }, { signal: AbortSignal.abort() });
    expect(start).toMatchObject({ examined: 0, complete: false, candidates: 30 });
    const first = await queue.redrive({ queue: q }, { cursor: start.cursor! });
    expect(first).toMatchObject({ complete: true, redriven: 30 });
    await drainQueue(queue, q);
    const replay = await queue.redrive({ queue: q }, { cursor: start.cursor! });
    expect(replay).toMatchObject({ complete: true, redriven: 0, matched: 30, skipped: 30 });
    await drainQueue(queue, q);
    for (const id of ids) expect(runs.get(id)).toBe(2);
    // A new redrive is a new decision: it puts them back again.
    expect((await queue.redrive({ queue: q })).redriven).toBe(30);
  });

  it('narrows by finished and created time, stops at maxJobs, and redrives cancelled jobs', async () => {
    const q = 'ranges';
    let now = Date.parse('2030-01-01T00:00:00.000Z');
    const clocked = new JobQueue({ tableName, client, clock: { now: () => now } });
    const batches: string[][] = [];
    for (let b = 0; b < 3; b++) {
      now += 3_600_000;
      batches.push(await enqueueAll(clocked, 20, 'sync', `batch ${b}`, q));
      await clocked.processJobs(failing, { queue: q, concurrency: 16 });
    }
    const t0 = Date.parse('2030-01-01T00:00:00.000Z');
    const middle = { queue: q, finishedAfter: new Date(t0 + 1.5 * 3_600_000), finishedBefore: new Date(t0 + 2.5 * 3_600_000).toISOString() };
    expect(await clocked.redrive(middle, { dryRun: true })).toMatchObject({ candidates: 20, matched: 20, complete: true });
    expect(await clocked.redrive({ queue: q, createdBefore: t0 + 1.5 * 3_600_000 }, { dryRun: true })).toMatchObject({ candidates: 60, matched: 20 });

    const part = await clocked.redrive(middle, { maxJobs: 7, pageSize: 5 });
    expect(part).toMatchObject({ examined: 7, redriven: 7, complete: false });
    const rest = await clocked.redrive(middle, { cursor: part.cursor! });
    expect(rest).toMatchObject({ examined: 20, redriven: 20, complete: true });
    for (const id of batches[1]!) expect((await clocked.getJob(id))?.status).toBe('pending');
    for (const id of [...batches[0]!, ...batches[2]!]) expect((await clocked.getJob(id))?.status).toBe('failed');

    const toCancel = await clocked.enqueueMany(Array.from({ length: 5 }, (_, i) => ({ type: 'sync', payload: { i }, options: { queue: 'cancelled-lane', delayMs: 60_000 } })));
    for (const id of toCancel) await clocked.cancelJob(id);
    expect(await clocked.redrive({ queue: 'cancelled-lane', status: 'cancelled' })).toMatchObject({ redriven: 5, complete: true });
    for (const id of toCancel) expect((await clocked.getJob(id))).toMatchObject({ status: 'pending', attempts: 0 });
  });

  it('refuses bad filters, options and cursors before reading or writing anything', async () => {
    const q = 'bad-input';
    await enqueueAll(queue, 3, 'sync', 'x', q);
    await drainQueue(queue, q);
    const refused = async (call: () => Promise<unknown>, field: string, limit?: RegExp) => {
      const err = await call().then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).field).toBe(field);
      if (limit) expect((err as ValidationError).limit).toMatch(limit);
    };
    await refused(() => queue.redrive({ queue: q, status: 'pending' as 'failed' }), 'filter.status', /failed/);
    await refused(() => queue.redrive({ queue: q, errorContains: '' }), 'filter.errorContains', /1 to 1000/);
    await refused(() => queue.redrive({ queue: q, finishedAfter: '2030-01-02T00:00:00Z', finishedBefore: '2030-01-01T00:00:00Z' }), 'filter.finishedBefore', /later than finishedAfter/);
    await refused(() => queue.redrive({ queue: q, createdAfter: 'yesterday' }), 'filter.createdAfter', /valid date/);
    await refused(() => queue.redrive({ queue: q, kind: 'x' } as never), 'filter.kind');
    await refused(() => queue.redrive({ queue: 'no spaces' }), 'filter.queue');
    await refused(() => queue.redrive({ queue: q }, { pageSize: 101 }), 'options.pageSize', /1 to 100/);
    await refused(() => queue.redrive({ queue: q }, { concurrency: 0 }), 'options.concurrency');
    await refused(() => queue.redrive({ queue: q }, { maxJobs: 1.5 }), 'options.maxJobs');

    const part = await queue.redrive({ queue: q, type: 'sync' }, { dryRun: true, maxJobs: 1, pageSize: 1 });
    expect(part.cursor).toBeDefined();
    const otherFilter = await queue.redrive({ queue: q, type: 'other' }, { dryRun: true, cursor: part.cursor! }).catch((e: unknown) => e);
    expect(otherFilter).toBeInstanceOf(InvalidCursorError);
    expect((otherFilter as Error).message).toMatch(/another filter/);
    const notDry = await queue.redrive({ queue: q, type: 'sync' }, { cursor: part.cursor! }).catch((e: unknown) => e);
    expect(notDry).toBeInstanceOf(InvalidCursorError);
    expect(await queue.redrive({ queue: q }, { cursor: 'garbage' }).catch((e: unknown) => e)).toBeInstanceOf(InvalidCursorError);
    expect((await queue.stats({ queue: q })).counts.failed).toBe(3);
  });

  it('narrows by group from the index entries: a dry run reads no item, a redrive reads and puts back only that group\'s jobs', async () => {
    const q = 'groups';
    const acme = await enqueueAll(queue, 4, 'sync', 'x', q, { group: 'acme' });
    const globex = await enqueueAll(queue, 3, 'sync', 'x', q, { group: 'globex' });
    const none = await enqueueAll(queue, 2, 'sync', 'x', q);
    await drainQueue(queue, q);
    const meterClient = testClient();
    const meter = new CapacityMeter().attach(meterClient);
    const metered = new JobQueue({ tableName, client: meterClient });
    expect(await metered.redrive({ queue: q, group: 'acme' }, { dryRun: true })).toMatchObject({ candidates: 9, examined: 9, matched: 4, redriven: 0, complete: true });
    expect(meter.totals().calls.BatchGetItemCommand ?? 0).toBe(0);
    const r = await metered.redrive({ queue: q, group: 'acme' });
    expect(r).toMatchObject({ examined: 9, matched: 4, redriven: 4, complete: true });
    expect(meter.totals().readUnits.table).toBe(4); // only acme's items were read
    for (const id of acme) expect((await queue.getJob(id))?.status).toBe('pending');
    for (const id of [...globex, ...none]) expect((await queue.getJob(id))?.status).toBe('failed');
    meterClient.destroy();
    const part = await queue.redrive({ queue: q, group: 'globex' }, { dryRun: true, maxJobs: 1, pageSize: 1 });
    const otherGroup = await queue.redrive({ queue: q, group: 'acme' }, { dryRun: true, cursor: part.cursor! }).catch((e: unknown) => e);
    expect(otherGroup).toBeInstanceOf(InvalidCursorError);
    const bad = await queue.redrive({ queue: q, group: 'no spaces' }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(ValidationError);
    expect(bad).toMatchObject({ field: 'filter.group', limit: expect.stringMatching(/1 to 128 characters/) });
  });

  it('costs 3 write units per job put back (1 table, 2 index) and 1 consistent read unit per job read', async () => {
    const q = 'cost';
    await enqueueAll(queue, 200, 'sync', 'x', q);
    await drainQueue(queue, q);
    const meterClient = testClient();
    const meter = new CapacityMeter().attach(meterClient);
    const metered = new JobQueue({ tableName, client: meterClient });
    const r = await metered.redrive({ queue: q, type: 'sync' });
    expect(r.redriven).toBe(200);
    const t = meter.totals();
    expect(t.calls.UpdateItemCommand).toBe(200);
    expect(t.writeUnits).toEqual({ table: 200, index: 400 });
    // Consistent BatchGetItem of items under 4 KB: 1 read unit each.
    expect(t.readUnits.table).toBe(200);
    meterClient.destroy();
  });
});
