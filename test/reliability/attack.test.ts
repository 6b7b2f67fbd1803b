/**
 * Issue 10, second review (an adversarial one): each test reproduces one finding against
 * DynamoDB Local. A 200 answer cut mid-body is a real network fault, made by an HTTP proxy
 * (helpers/proxy.ts); lost answers, 500s and throttling are SDK middleware faults (helpers/script.ts).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobQueue } from '../../lib/index.ts';
import type { EnqueuedJob, JobContext, JobQueueOptions } from '../../lib/index.ts';
import { localClient } from '../../lib/local/dynamodb-local.ts';
import { idempotentJobId } from '../../lib/model/codec.ts';
import { claimJob } from '../../lib/store/claim-job.ts';
import { queryDue } from '../../lib/store/query-due.ts';
import { ddbEndpoint, dropTable, freshTable, testClient } from '../helpers/ddb.ts';
import { addFaultRule, isClaim, isHeartbeat, isOutcomeWrite } from './helpers/faults.ts';
import { startProxy } from './helpers/proxy.ts';
import { landThenOutage, script } from './helpers/script.ts';

/** A progress write (fenced, carrying progress, not an outcome). */
const isProgressWrite = (command: string, input: any) => {
  const v = input.ExpressionAttributeValues ?? {};
  return command === 'UpdateItemCommand' && !!v[':fence_write'] && !!v[':progress'] && !v[':completed'] && !v[':error'] && !v[':failed'];
};

describe('reliability: adversarial review', () => {
  let clean: DynamoDBClient;
  let tableName: string;
  let proxy: Awaited<ReturnType<typeof startProxy>>;
  const clients: DynamoDBClient[] = [];
  beforeAll(async () => {
    clean = testClient();
    proxy = await startProxy(ddbEndpoint());
    tableName = await freshTable(clean, 'attack');
  });
  afterAll(async () => {
    for (const c of clients) c.destroy();
    await proxy.close();
    await dropTable(clean, tableName);
    clean.destroy();
  });
  /** A queue on its own client (so faults added to it hit only this test). */
  const queueWith = (options: Partial<JobQueueOptions> = {}, endpoint = ddbEndpoint()) => {
    const client = localClient(endpoint);
    clients.push(client);
    return { client, queue: new JobQueue({ tableName, client, shardCount: 1, ...options }) };
  };

  it('1: a batch whose 200 answer was cut mid-body is not resent whole over a job a worker claimed meanwhile', async () => {
    const worker = new JobQueue({ tableName, client: clean, shardCount: 1 });
    const { queue: producer } = queueWith({}, proxy.endpoint);
    const q = 'trunc-batch';
    let claimedId: string | undefined;
    const rule = proxy.add({
      match: (t) => t.endsWith('BatchWriteItem'),
      mode: 'truncate',
      times: 1,
      beforeRespond: async () => {
        // The batch is in the table; a worker claims one of its jobs before the answer arrives.
        const read = await queryDue(worker.store, q, 0, 25);
        claimedId = (await claimJob(worker.store, read.candidates[0]!, 'attack-worker', 2_000))?.job.id;
      },
    });
    const ids = await producer.enqueueMany([{ type: 'a', payload: { n: 1 }, options: { queue: q } }, { type: 'a', payload: { n: 2 }, options: { queue: q } }]);
    expect(rule.hits).toBe(1);
    expect(ids).toContain(claimedId);
    expect(await worker.getJob(claimedId!)).toMatchObject({ status: 'processing', attempts: 1 });
  });

  describe('2: an attempt that landed, then throttled retries', () => {
    it('a claim that landed, then was throttled on its SDK retries, is run in the same drain', async () => {
      const { client, queue } = queueWith();
      const q = 'claim-landed-throttled';
      // The SDK's backoff after throttling (about 0.5 s, 1 s, 2 s) must fit in the claim's resend
      // window (its timeout): a claim throttled past its own lease is left to the lease (documented).
      const id = await queue.enqueue('work', {}, { queue: q, maxAttempts: 1, timeoutMs: 8_000 });
      const log = script(client, isClaim, ['after500', 'throttle', 'throttle', 'throttle']);
      const ran: number[] = [];
      const failedHook: string[] = [];
      const handlers = { work: { handler: () => void ran.push(Date.now()), onFailed: (e: Error) => void failedHook.push(e.message) } };
      const report = await queue.processJobs(handlers, { queue: q, leaseGraceMs: 200 });
      expect(log.steps.slice(0, 4)).toEqual(['after500', 'throttle', 'throttle', 'throttle']);
      expect(report.completed).toBe(1);
      expect(ran.length, 'handler runs').toBe(1);
      expect(failedHook).toEqual([]);
      expect((await queue.getJob(id))?.status).toBe('completed');
    });

    it('a keyed job whose put landed, then was throttled, is written (and notified), not notWritten', async () => {
      const notified: EnqueuedJob[] = [];
      const { client, queue } = queueWith({ onEnqueued: (jobs) => void notified.push(...jobs) });
      const q = 'put-landed-throttled';
      script(client, (c) => c === 'PutItemCommand', ['after500', 'throttle', 'throttle', 'throttle']);
      const ids = await queue.enqueueMany([{ type: 'a', payload: {}, options: { queue: q, idempotencyKey: 'k-landed' } }]);
      expect(await queue.getJob(ids[0]!)).toMatchObject({ status: 'pending' });
      expect(notified.map((j) => j.id)).toEqual(ids);
    });

    it('a keyed put that landed, then was throttled for longer than the settle window by the SDK\'s own retries, is still resent once and found written', async () => {
      // A clock that moves 2 s on every attempt the SDK sends: its 4 attempts take longer than the 5 s window.
      let skew = 0;
      const { client, queue } = queueWith({ clock: { now: () => Date.now() + skew } });
      client.middlewareStack.add((next, context) => async (args) => {
        if (context.commandName === 'PutItemCommand') skew += 2_000;
        return next(args);
      }, { step: 'finalizeRequest', priority: 'low', name: 'test-clock-per-attempt' });
      script(client, (c) => c === 'PutItemCommand', ['after500', 'throttle', 'throttle', 'throttle']);
      const ids = await queue.enqueueMany([{ type: 'a', payload: {}, options: { queue: 'put-landed-slow', idempotencyKey: 'k-slow' } }]);
      expect(await queue.getJob(ids[0]!)).toMatchObject({ status: 'pending' });
    });

    it('a single enqueue whose put landed with its answer lost (the SDK retry finds it) calls onEnqueued', async () => {
      const notified: EnqueuedJob[] = [];
      const { client, queue } = queueWith({ onEnqueued: (jobs) => void notified.push(...jobs) });
      addFaultRule(client, { match: (c) => c === 'PutItemCommand', mode: 'after', kind: 'econnreset', times: 1 });
      const id = await queue.enqueue('a', {}, { queue: 'notify-lost', delayMs: 60_000 });
      expect(await queue.getJob(id)).not.toBeNull();
      expect(notified.map((j) => j.id), 'onEnqueued for the job this call created').toEqual([id]);
    });
  });

  describe('3: a blip on a context write', () => {
    for (const kind of ['progress', 'heartbeat'] as const) {
      it(`a ${kind} write blip (500s past the SDK's retries) does not fail a job whose handler succeeds`, async () => {
        const { client, queue } = queueWith();
        const blip = addFaultRule(client, { match: kind === 'progress' ? isProgressWrite : isHeartbeat, mode: 'before', times: 4 });
        const q = `ctx-${kind}`;
        const id = await queue.enqueue('work', {}, { queue: q, maxAttempts: 1, timeoutMs: 10_000 });
        const failed: string[] = [];
        const answers: boolean[] = [];
        await queue.processJobs({
          work: {
            handler: async (_p: unknown, ctx: JobContext) => {
              answers.push(kind === 'progress' ? await ctx.progress(1, 2, 'half way') : await ctx.heartbeat());
              return 'ok';
            },
            onFailed: (e: Error) => void failed.push(e.message),
          },
        }, { queue: q });
        expect(blip.hits).toBe(4);
        expect(answers).toEqual([true]);
        const job = await queue.getJob(id);
        expect(job).toMatchObject({ status: 'completed', result: 'ok' });
        if (kind === 'progress') expect(job?.progress).toMatchObject({ current: 1, total: 2, message: 'half way' });
        expect(failed).toEqual([]);
      });
    }
  });

  it('4: a final failure that landed, answer lost, then the network out past the lease: onFailed fires once', async () => {
    const { client, queue } = queueWith();
    const q = 'onfailed-outage';
    const id = await queue.enqueue('w', {}, { queue: q, maxAttempts: 1, timeoutMs: 1_000 });
    const start = Date.now();
    // The write lands, its answer is lost, then every resend fails until well after the lease (1 s + 0.2 s grace) ended.
    const cut = landThenOutage(client, isOutcomeWrite('failed'), start + 2_000);
    const failedHook: string[] = [];
    const handlers = { w: { handler: () => Promise.reject(new Error('no')), onFailed: (_e: Error, job: { id: string }) => void failedHook.push(job.id) } };
    await queue.processJobs(handlers, { queue: q, leaseGraceMs: 200 });
    expect(cut.hits).toBeGreaterThan(1);
    await queue.processJobs(handlers, { queue: q, leaseGraceMs: 200 }); // nobody else fires it
    expect((await queue.getJob(id))?.status).toBe('failed');
    expect(failedHook, 'onFailed calls for a job that ended failed').toEqual([id]);
  });

  it('5: enqueueMany with one idempotency key twice puts it once: each id in exactly one list', async () => {
    const { client, queue } = queueWith();
    const q = 'dup-keys';
    // The first put passes; a second put of the same id would be throttled on every SDK attempt.
    const log = script(client, (c) => c === 'PutItemCommand', ['pass', 'throttle', 'throttle', 'throttle', 'throttle']);
    const ids = await queue.enqueueMany([
      { type: 'a', payload: { n: 1 }, options: { queue: q, idempotencyKey: 'same' } },
      { type: 'a', payload: { n: 2 }, options: { queue: q, idempotencyKey: 'same' } },
    ]);
    expect(log.steps).toEqual(['pass']);
    expect(ids).toEqual([idempotentJobId(q, 'same'), idempotentJobId(q, 'same')]);
    expect(await queue.getJob(ids[0]!)).toMatchObject({ status: 'pending', payload: { n: 1 } });
  });

  describe('6: operator writes whose answer is lost', () => {
    it('retryJob whose write landed with its answer lost reports true', async () => {
      const { client, queue } = queueWith();
      const q = 'redrive-lost';
      const id = await queue.enqueue('a', {}, { queue: q, maxAttempts: 1 });
      await queue.processJobs({ a: () => Promise.reject(new Error('x')) }, { queue: q });
      expect((await queue.getJob(id))?.status).toBe('failed');
      const rule = addFaultRule(client, { match: (c, input) => c === 'UpdateItemCommand' && !!input.ExpressionAttributeValues?.[':seen_ro'], mode: 'after', times: 1 });
      expect(await queue.retryJob(id), 'retryJob reports the redrive it made').toBe(true);
      expect(rule.hits).toBe(1);
      expect((await queue.getJob(id))?.status).toBe('pending');
    });

    it('cancelJob whose write landed with its answer lost reports true', async () => {
      const { client, queue } = queueWith();
      const id = await queue.enqueue('a', {}, { queue: 'cancel-lost', delayMs: 60_000 });
      const rule = addFaultRule(client, { match: (c, input) => c === 'UpdateItemCommand' && !!input.ExpressionAttributeValues?.[':cancelled'], mode: 'after', times: 1 });
      expect(await queue.cancelJob(id), 'cancelJob reports the cancel it made').toBe(true);
      expect(rule.hits).toBe(1);
      expect((await queue.getJob(id))?.status).toBe('cancelled');
    });
  });
});
