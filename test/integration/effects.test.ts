/**
 * Exactly-once effects: `ctx.completeWith(items, result)` applies the handler's own writes and the
 * job's completion in one fenced transaction, against DynamoDB Local.
 */
import type { DynamoDBClient, TransactWriteItem } from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobQueue, LeaseLostError, TooManyTransactItemsError, TransactionConflictError, ValidationError } from '../../lib/index.ts';
import type { JobContext, WorkerEvent } from '../../lib/index.ts';
import { localClient } from '../../lib/local/dynamodb-local.ts';
import { addOne, counter, createAppTable } from '../helpers/app-table.ts';
import { ddbEndpoint, dropTable, freshTable, testClient } from '../helpers/ddb.ts';

let client: DynamoDBClient;
let tableName: string;
let appTable: string;
let queue: JobQueue;

/** Gives a serialized TransactWriteItems request a new ClientRequestToken (DynamoDB Local checks no signature). */
function replaceRequestToken(request: { body: string | Uint8Array; headers: Record<string, string> }): void {
  const text = typeof request.body === 'string' ? request.body : new TextDecoder().decode(request.body);
  const body = JSON.parse(text) as { ClientRequestToken?: string };
  body.ClientRequestToken = randomUUID();
  request.body = JSON.stringify(body);
  request.headers['content-length'] = String(Buffer.byteLength(request.body));
}

beforeAll(async () => {
  client = testClient();
  tableName = await freshTable(client, 'effects');
  appTable = `app-${randomUUID().slice(0, 8)}`;
  await createAppTable(client, appTable);
  queue = new JobQueue({ tableName, client });
});

afterAll(async () => {
  await dropTable(client, tableName);
  await dropTable(client, appTable);
  client.destroy();
});

describe('ctx.completeWith', () => {
  it('increments a counter and completes the job in one transaction', async () => {
    const q = 'happy';
    const id = await queue.enqueue('count', { pk: 'happy' }, { queue: q });
    const returned: unknown[] = [];
    const report = await queue.processJobs(
      {
        count: async (p: { pk: string }, ctx: JobContext) => {
          await ctx.progress(1, 2);
          returned.push(await ctx.completeWith([addOne(appTable, p.pk)], { counted: p.pk }));
          return 'ignored';
        },
      },
      { queue: q },
    );
    expect(report).toMatchObject({ claimed: 1, completed: 1, stale: 0, retried: 0 });
    expect(returned).toEqual([undefined]);
    expect(await counter(client, appTable, 'happy')).toBe(1);
    const job = await queue.getJob(id);
    expect(job).toMatchObject({ status: 'completed', result: { counted: 'happy' }, attempts: 1 });
    expect(job?.progress).toMatchObject({ current: 1, total: 2 });
  });

  // The resend carries the same ClientRequestToken (DynamoDB replays the first answer), or a new one
  // (as past the 10-minute window): then the job's condition fails and its write id shows the landing.
  it.each([
    ['the same request token', false],
    ['a new request token', true],
  ])('applies a transaction whose answer was lost once, not twice, when resent with %s', async (_label, newToken) => {
    const q = `lost-answer-${newToken}`;
    const pk = `lost-${newToken}`;
    const id = await queue.enqueue('count', { pk }, { queue: q });
    const lossy = localClient(ddbEndpoint());
    let sends = 0;
    lossy.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName !== 'TransactWriteItemsCommand') return next(args);
        sends++;
        if (sends > 1 && newToken) replaceRequestToken((args as { request: { body: string | Uint8Array; headers: Record<string, string> } }).request);
        const result = await next(args);
        // The first send was applied; the caller sees a 500 and the SDK sends it again.
        if (sends === 1) throw Object.assign(new Error('response lost'), { name: 'InternalServerError', $fault: 'server', $metadata: { httpStatusCode: 500 } });
        return result;
      },
      { step: 'deserialize', name: 'loseFirstTransactionAnswer', priority: 'low' },
    );
    const report = await new JobQueue({ tableName, client: lossy }).processJobs(
      { count: (p: { pk: string }, ctx: JobContext) => ctx.completeWith([addOne(appTable, p.pk)], 'once') },
      { queue: q },
    );
    lossy.destroy();
    expect(sends).toBe(2);
    expect(report).toMatchObject({ completed: 1, stale: 0 });
    expect(await counter(client, appTable, pk)).toBe(1);
    expect(await queue.getJob(id)).toMatchObject({ status: 'completed', attempts: 1, result: 'once' });
  });

  it('keeps a job completed by completeWith completed when the handler throws afterwards', async () => {
    const q = 'throw-after';
    const id = await queue.enqueue('count', { pk: 'after' }, { queue: q });
    const events: WorkerEvent[] = [];
    const report = await queue.processJobs(
      {
        count: async (p: { pk: string }, ctx: JobContext) => {
          await ctx.completeWith([addOne(appTable, p.pk)], 'done');
          await expect(ctx.completeWith([addOne(appTable, p.pk)])).rejects.toMatchObject({ name: 'ValidationError', field: 'completeWith' });
          throw new Error('late failure');
        },
      },
      { queue: q, onEvent: (e) => events.push(e) },
    );
    expect(report).toMatchObject({ completed: 1, retried: 0, failed: 0 });
    expect(events.find((e) => e.kind === 'error')?.error.message).toMatch(/threw after completeWith.*late failure/);
    expect(await counter(client, appTable, 'after')).toBe(1);
    expect(await queue.getJob(id)).toMatchObject({ status: 'completed', result: 'done', attempts: 1 });
  });

  it('applies nothing for a worker whose lease was taken over, which gets LeaseLostError', async () => {
    const q = 'stale';
    const id = await queue.enqueue('count', { pk: 'stale' }, { queue: q, timeoutMs: 300 });
    // Worker A's transaction is held up in the network for 1.5 s, past its 0.4 s lease.
    const slow = localClient(ddbEndpoint());
    slow.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'TransactWriteItemsCommand') await new Promise((r) => setTimeout(r, 1_500));
        return next(args);
      },
      { step: 'initialize', name: 'slowTransaction' },
    );
    const seenByA: unknown[] = [];
    let claimedByA!: () => void;
    const aHasIt = new Promise<void>((r) => (claimedByA = r));
    const runA = new JobQueue({ tableName, client: slow }).processJobs(
      {
        count: async (p: { pk: string }, ctx: JobContext) => {
          await ctx.completeWith([addOne(appTable, p.pk)], { by: 'A' }).catch((e: unknown) => (seenByA.push(e), Promise.reject(e)));
        },
      },
      { queue: q, leaseGraceMs: 100, maxJobs: 1, onEvent: (e) => e.kind === 'claimed' && claimedByA() },
    );
    await aHasIt;
    const reportB = await queue.processJobs(
      { count: (p: { pk: string }, ctx: JobContext) => ctx.completeWith([addOne(appTable, p.pk)], { by: 'B' }) },
      { queue: q, leaseGraceMs: 100, waitForDueWithinMs: 3_000 },
    );
    const reportA = await runA;
    slow.destroy();
    expect(reportB).toMatchObject({ completed: 1 });
    expect(reportA).toMatchObject({ claimed: 1, completed: 0, stale: 1 });
    expect(seenByA).toHaveLength(1);
    expect(seenByA[0]).toBeInstanceOf(LeaseLostError);
    expect(await counter(client, appTable, 'stale')).toBe(1);
    expect(await queue.getJob(id)).toMatchObject({ status: 'completed', attempts: 2, result: { by: 'B' } });
  });

  it('applies nothing when a condition of the handler fails, and the attempt fails with the index', async () => {
    const q = 'conflict';
    const id = await queue.enqueue('guarded', {}, { queue: q, maxAttempts: 2, backoff: { baseMs: 10 } });
    const errors: unknown[] = [];
    const events: WorkerEvent[] = [];
    const report = await queue.processJobs(
      {
        guarded: async (_p: unknown, ctx: JobContext) => {
          const items: TransactWriteItem[] = [
            addOne(appTable, 'guarded'),
            { ConditionCheck: { TableName: appTable, Key: { pk: { S: 'missing' } }, ConditionExpression: 'attribute_exists(pk)' } },
          ];
          await ctx.completeWith(items).catch((e: unknown) => (errors.push(e), Promise.reject(e)));
        },
      },
      { queue: q, waitForDueWithinMs: 3_000, onEvent: (e) => events.push(e) },
    );
    expect(report).toMatchObject({ claimed: 2, completed: 0, retried: 1, failed: 1 });
    expect(errors).toHaveLength(2);
    expect(errors[0]).toBeInstanceOf(TransactionConflictError);
    expect(errors[0]).toMatchObject({ index: 1, code: 'TRANSACTION_CONFLICT' });
    expect((errors[0] as Error).cause).toMatchObject({ name: 'TransactionCanceledException' });
    expect(await counter(client, appTable, 'guarded')).toBe(0);
    const job = await queue.getJob(id);
    expect(job).toMatchObject({ status: 'failed', attempts: 2 });
    expect(job?.error).toMatch(/items\[1\]/);
    expect(events.filter((e) => e.kind === 'retrying' || e.kind === 'failed').map((e) => e.kind)).toEqual(['retrying', 'failed']);
  });

  it('answers an item on a table that does not exist with a ValidationError naming items, and writes nothing', async () => {
    const q = 'missing-table';
    const id = await queue.enqueue('ghost', {}, { queue: q, maxAttempts: 1 });
    const errors: unknown[] = [];
    const report = await queue.processJobs(
      {
        ghost: async (_p: unknown, ctx: JobContext) => {
          await ctx.completeWith([addOne(appTable, 'ghost'), addOne(`no-such-table-${randomUUID().slice(0, 8)}`, 'ghost')]).catch((e: unknown) => (errors.push(e), Promise.reject(e)));
        },
      },
      { queue: q },
    );
    expect(report).toMatchObject({ claimed: 1, completed: 0, failed: 1 });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(ValidationError);
    expect(errors[0]).toMatchObject({ field: 'items' });
    expect((errors[0] as Error).cause).toMatchObject({ name: 'ResourceNotFoundException' });
    expect(await counter(client, appTable, 'ghost')).toBe(0);
    expect(await queue.getJob(id)).toMatchObject({ status: 'failed' });
  });

  it('refuses bad items before writing anything', async () => {
    const q = 'bad-items';
    await queue.enqueue('bad', {}, { queue: q });
    const errors: unknown[] = [];
    const attempt = async (ctx: JobContext, items: unknown) => {
      await ctx.completeWith(items as TransactWriteItem[]).catch((e: unknown) => errors.push(e));
    };
    const report = await queue.processJobs(
      {
        bad: async (_p: unknown, ctx: JobContext) => {
          await attempt(ctx, Array.from({ length: 100 }, (_, i) => addOne(appTable, `many-${i}`)));
          await attempt(ctx, [{ Update: addOne(appTable, 'both').Update, Delete: { TableName: appTable, Key: { pk: { S: 'both' } } } }]);
          await attempt(ctx, [{ Delete: { TableName: tableName, Key: { id: { S: ctx.job.id } } } }]);
          await attempt(ctx, [{ Put: { TableName: appTable, Item: { pk: { S: 'huge' }, blob: { S: 'x'.repeat(4 * 1024 * 1024) } } } }]);
          await attempt(ctx, [addOne(appTable, 'twice'), addOne(appTable, 'twice')]);
          return 'plain';
        },
      },
      { queue: q },
    );
    expect(report).toMatchObject({ completed: 1 });
    expect(errors.map((e) => [(e as Error).name, (e as ValidationError).field])).toEqual([
      ['TooManyTransactItemsError', 'items'],
      ['ValidationError', 'items[0]'],
      ['ValidationError', 'items[0]'],
      ['ValidationError', 'items'],
      ['ValidationError', 'items'],
    ]);
    expect(errors[0]).toBeInstanceOf(TooManyTransactItemsError);
    expect(errors.every((e) => e instanceof ValidationError)).toBe(true);
    expect((errors[4] as Error).cause).toBeDefined();
    for (const pk of ['many-0', 'many-99', 'both', 'twice']) expect(await counter(client, appTable, pk)).toBe(0);
  });
});
