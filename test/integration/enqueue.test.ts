/**
 * Enqueueing against DynamoDB Local: idempotency keys, enqueueMany past the batch limit with
 * unprocessed items retried, listJobs paging, and bad input rejected with nothing written.
 */
import { BatchWriteItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBClient, WriteRequest } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobQueue, MAX_NEW_ITEM_BYTES, PayloadTooLargeError, ValidationError } from '../../lib/index.ts';
import { freshQueue, testClient, freshTable, dropTable } from '../helpers/ddb.ts';

let queue: JobQueue;
let client: DynamoDBClient;
let tableName: string;
let cleanup: () => Promise<void>;

beforeAll(async () => ({ queue, client, tableName, cleanup } = await freshQueue()));
afterAll(async () => cleanup());

async function countItems(c: DynamoDBClient, table: string): Promise<number> {
  const res = await c.send(new ScanCommand({ TableName: table, Select: 'COUNT', ConsistentRead: true }));
  return res.Count ?? 0;
}

describe('enqueue with idempotencyKey', () => {
  it('returns the existing id and creates nothing for the same key in the same queue', async () => {
    const before = await countItems(client, tableName);
    const a = await queue.enqueue('email', { n: 1 }, { idempotencyKey: 'order-42' });
    const b = await queue.enqueue('email', { n: 2 }, { idempotencyKey: 'order-42' });
    expect(b).toBe(a);
    expect(await countItems(client, tableName)).toBe(before + 1);
    expect((await queue.getJob(a))!.payload).toEqual({ n: 1 });
    expect((await queue.getJob(a))!.idempotencyKey).toBe('order-42');

    // Another queue is another namespace.
    const c = await queue.enqueue('email', { n: 3 }, { idempotencyKey: 'order-42', queue: 'other' });
    expect(c).not.toBe(a);
  });

  it('still dedupes after the job ran, and under concurrent callers', async () => {
    const id = await queue.enqueue('once', {}, { idempotencyKey: 'k-done', queue: 'idem' });
    await queue.processJobs({ once: () => 1 }, { queue: 'idem' });
    expect(await queue.enqueue('once', {}, { idempotencyKey: 'k-done', queue: 'idem' })).toBe(id);

    const before = await countItems(client, tableName);
    const ids = await Promise.all(Array.from({ length: 10 }, () => queue.enqueue('once', {}, { idempotencyKey: 'k-race', queue: 'idem' })));
    expect(new Set(ids).size).toBe(1);
    expect(await countItems(client, tableName)).toBe(before + 1);
  });
});

describe('enqueueMany', () => {
  it('writes 60 jobs (3 batches) and returns ids in input order', async () => {
    const ids = await queue.enqueueMany(Array.from({ length: 60 }, (_, i) => ({ type: 'bulk', payload: { i }, options: { queue: 'bulk' } })));
    expect(ids).toHaveLength(60);
    expect(new Set(ids).size).toBe(60);
    const jobs = await Promise.all([ids[0]!, ids[59]!].map((id) => queue.getJob(id)));
    expect(jobs.map((j) => (j!.payload as { i: number }).i)).toEqual([0, 59]);
  });

  it('retries unprocessed items until all are written', async () => {
    // DynamoDB Local never returns UnprocessedItems, so a middleware on a real client makes the
    // first two calls of each batch write only part of it and report the rest as unprocessed.
    const flaky = testClient();
    const table = await freshTable(flaky);
    const calls: number[] = [];
    flaky.middlewareStack.add(
      (next) => async (args) => {
        const input = (args as { input: { RequestItems?: Record<string, WriteRequest[]> } }).input;
        if (!input.RequestItems) return next(args);
        const all = input.RequestItems[table]!;
        calls.push(all.length);
        if (calls.length % 3 === 0 || all.length < 4) return next(args);
        const keep = all.slice(0, Math.ceil(all.length / 2));
        const left = all.slice(keep.length);
        const res = await next({ ...args, input: { ...input, RequestItems: { [table]: keep } } } as typeof args);
        (res.output as { UnprocessedItems?: Record<string, WriteRequest[]> }).UnprocessedItems = { [table]: left };
        return res;
      },
      { step: 'initialize', name: 'partialBatch' },
    );
    const q = new JobQueue({ tableName: table, client: flaky });
    const ids = await q.enqueueMany(Array.from({ length: 55 }, (_, i) => ({ type: 'bulk', payload: { i } })));
    expect(ids).toHaveLength(55);
    expect(calls.length).toBeGreaterThan(3); // unprocessed items were sent again
    expect(calls.every((n) => n <= 25)).toBe(true);
    expect(await countItems(client, table)).toBe(55);
    await dropTable(client, table);
    flaky.destroy();
  });

  it('validates every job first and writes nothing if one is bad', async () => {
    const before = await countItems(client, tableName);
    const jobs = Array.from({ length: 30 }, (_, i) => ({ type: 'ok', payload: { i }, options: i === 27 ? { maxAttempts: 0 } : {} }));
    await expect(queue.enqueueMany(jobs)).rejects.toMatchObject({ name: 'ValidationError', field: 'jobs[27].options.maxAttempts' });
    expect(await countItems(client, tableName)).toBe(before);
  });

  it('dedupes keyed jobs in a batch', async () => {
    const ids = await queue.enqueueMany([
      { type: 'k', payload: {}, options: { idempotencyKey: 'same', queue: 'batchkeys' } },
      { type: 'k', payload: {}, options: { idempotencyKey: 'same', queue: 'batchkeys' } },
      { type: 'k', payload: {}, options: { queue: 'batchkeys' } },
    ]);
    expect(ids[0]).toBe(ids[1]);
    expect(ids[2]).not.toBe(ids[0]);
    expect((await queue.listJobs({ status: 'pending', queue: 'batchkeys' })).jobs).toHaveLength(2);
  });
});

describe('listJobs', () => {
  it('pages through 57 pending jobs in run order without repeats or gaps', async () => {
    const q = 'paging';
    const ids = await queue.enqueueMany(Array.from({ length: 57 }, (_, i) => ({ type: 'page', payload: { i }, options: { queue: q, priority: i % 3 } })));
    const seen: string[] = [];
    const priorities: number[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await queue.listJobs({ status: 'pending', queue: q, limit: 10, ...(cursor ? { cursor } : {}) });
      expect(page.jobs.length).toBeLessThanOrEqual(10);
      seen.push(...page.jobs.map((j) => j.id));
      priorities.push(...page.jobs.map((j) => j.priority));
      cursor = page.cursor;
      pages++;
    } while (cursor && pages < 50);
    expect(cursor).toBeUndefined();
    expect(seen.length).toBe(57);
    expect(new Set(seen)).toEqual(new Set(ids));
    // Run order: priority descending across the whole listing.
    expect(priorities).toEqual([...priorities].sort((a, b) => b - a));
    expect((await queue.listJobs({ status: 'processing', queue: q })).jobs).toEqual([]);
  });

  it('lists completed jobs, page by page', async () => {
    const q = 'done';
    await queue.enqueueMany(Array.from({ length: 7 }, (_, i) => ({ type: 'd', payload: { i }, options: { queue: q } })));
    await queue.processJobs({ d: () => 'ok' }, { queue: q, concurrency: 4 });
    const first = await queue.listJobs({ status: 'completed', queue: q, limit: 5 });
    expect(first.jobs).toHaveLength(5);
    expect(first.cursor).toBeDefined();
    const second = await queue.listJobs({ status: 'completed', queue: q, limit: 5, cursor: first.cursor! });
    const all = [...first.jobs, ...second.jobs];
    expect(new Set(all.map((j) => j.id)).size).toBe(7);
    expect(all.every((j) => j.status === 'completed' && j.queue === q)).toBe(true);
  });

  it('rejects a bad status, limit or cursor', async () => {
    await expect(queue.listJobs({ status: 'done' as never })).rejects.toMatchObject({ field: 'status' });
    await expect(queue.listJobs({ status: 'pending', limit: 0 })).rejects.toMatchObject({ field: 'limit' });
    await expect(queue.listJobs({ status: 'pending', cursor: 'garbage' })).rejects.toMatchObject({ field: 'cursor' });
    const page = await queue.listJobs({ status: 'pending', queue: 'paging', limit: 1 });
    await expect(queue.listJobs({ status: 'failed', queue: 'paging', cursor: page.cursor! })).rejects.toMatchObject({ field: 'cursor' });
  });
});

describe('bad input writes nothing', () => {
  const cyclic: Record<string, unknown> = {};
  cyclic.me = cyclic;
  const deep = (n: number): unknown => (n === 0 ? 'bottom' : [deep(n - 1)]);
  const cases: [string, () => Promise<unknown>, string][] = [
    ['empty type', () => queue.enqueue('', {}), 'type'],
    ['malformed type', () => queue.enqueue('rm -rf /', {}), 'type'],
    ['non-string type', () => queue.enqueue(null as never, {}), 'type'],
    ['function payload', () => queue.enqueue('t', (() => 1) as never), 'payload'],
    ['cyclic payload', () => queue.enqueue('t', cyclic), 'payload.me'],
    ['too deep payload', () => queue.enqueue('t', deep(40)), 'payload' + '[0]'.repeat(31)],
    ['payload over 400 KB', () => queue.enqueue('t', { blob: 'x'.repeat(410_000) }), 'payload'],
    ['invalid date', () => queue.enqueue('t', {}, { runAt: new Date(Number.NaN) }), 'options.runAt'],
    ['maxAttempts 0', () => queue.enqueue('t', {}, { maxAttempts: 0 }), 'options.maxAttempts'],
    ['negative delay', () => queue.enqueue('t', {}, { delayMs: -5 }), 'options.delayMs'],
  ];
  it.each(cases)('%s', async (_name, call, field) => {
    const before = await countItems(client, tableName);
    const err = await call().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).field).toBe(field);
    expect((err as ValidationError).limit).toBeTruthy();
    expect(await countItems(client, tableName)).toBe(before);
  });

  it('says how big a too-large payload would be and what the limit is', async () => {
    const err = (await queue.enqueue('t', { blob: 'x'.repeat(402_000) }).catch((e: unknown) => e)) as PayloadTooLargeError;
    expect(err).toBeInstanceOf(PayloadTooLargeError);
    expect(err.bytes).toBeGreaterThan(MAX_NEW_ITEM_BYTES);
    expect(err.message).toContain(String(MAX_NEW_ITEM_BYTES));
  });

  it('rejects an empty object key, which DynamoDB cannot store', async () => {
    await expect(queue.enqueue('t', { a: { '': 1 } })).rejects.toMatchObject({ name: 'ValidationError', field: 'payload.a.<key>' });
  });

  it('accepts a payload just under the limit, and DynamoDB stores it', async () => {
    const id = await queue.enqueue('t', { blob: 'y'.repeat(MAX_NEW_ITEM_BYTES - 2_000) }, { queue: 'big' });
    expect(((await queue.getJob(id))!.payload as { blob: string }).blob.length).toBe(MAX_NEW_ITEM_BYTES - 2_000);
  });

  it('stores odd Unicode, empty strings and nested lists exactly', async () => {
    const payload = { emoji: '👩‍💻🚀', rtl: 'مرحبا', zero: 'a\u0000b', empty: '', nested: [[1, [2, [3]]], { ' ': 'space key' }], n: -0.5e-10 };
    const id = await queue.enqueue('t', payload, { queue: 'unicode' });
    expect((await queue.getJob(id))!.payload).toEqual(payload);
  });
});

describe('BatchWriteItem guard', () => {
  it('the raw limit is 25 per call (why enqueueMany chunks)', async () => {
    const items = Array.from({ length: 26 }, (_, i) => ({ PutRequest: { Item: { id: { S: `raw-${i}` } } } }));
    await expect(client.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: items } }))).rejects.toThrow();
  });
});
