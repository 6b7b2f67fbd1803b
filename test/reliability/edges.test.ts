/**
 * Reliability at the edges (issue 10): each test reproduces one finding against DynamoDB Local,
 * with SDK middleware faults only where a real server cannot produce the fault (a lost or slow
 * response, a blip of 500s, throttling).
 */
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnqueueError, JobQueue } from '../../lib/index.ts';
import type { EnqueuedJob, JobContext, JobQueueOptions, WorkerEvent } from '../../lib/index.ts';
import { localClient } from '../../lib/local/dynamodb-local.ts';
import { idempotentJobId } from '../../lib/model/codec.ts';
import { ATTR } from '../../lib/schema.ts';
import { fireRecurring } from '../../lib/scheduler/recurring.ts';
import { claimJob } from '../../lib/store/claim-job.ts';
import { queryDue } from '../../lib/store/query-due.ts';
import { ddbEndpoint, dropTable, freshTable, sleep, testClient } from '../helpers/ddb.ts';
import { addFaultRule, faultError, isClaim, isHeartbeat, isOutcomeWrite } from './helpers/faults.ts';

/** The SDK's attempts per call (4 for DynamoDB): a rule hitting this many calls defeats its retries. */
const SDK_ATTEMPTS = await (localClient('http://127.0.0.1:9').config.maxAttempts as () => Promise<number>)();

/** Resolves when `signal` aborts, or after `maxMs` (so a broken abort cannot hang the test). */
function untilAborted(signal: AbortSignal, maxMs: number): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(resolve, maxMs);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
}

describe('reliability at the edges', () => {
  let clean: DynamoDBClient;
  let tableName: string;
  const clients: DynamoDBClient[] = [];
  beforeAll(async () => {
    clean = testClient();
    tableName = await freshTable(clean, 'edges');
  });
  afterAll(async () => {
    for (const c of clients) c.destroy();
    await dropTable(clean, tableName);
    clean.destroy();
  });

  /** A queue on its own client (so faults added to it hit only this test). */
  const queueWith = (options: Partial<JobQueueOptions> = {}) => {
    const client = localClient(ddbEndpoint());
    clients.push(client);
    return { client, queue: new JobQueue({ tableName, client, shardCount: 1, ...options }) };
  };
  const tableIds = async (): Promise<Set<string>> => {
    const items = (await clean.send(new ScanCommand({ TableName: tableName, ConsistentRead: true }))).Items ?? [];
    return new Set(items.map((it) => it[ATTR.id]!.S!));
  };

  describe('1 and 5b: heartbeats and deadlines', () => {
    it('a heartbeat whose response is slow never lets a second run start before the first ended', async () => {
      const { client, queue } = queueWith();
      // The heartbeat reaches the table at once (lease = sent + 3 s + 0.5 s grace), its response
      // 2.5 s later: a timeout counted from the response would end 2 s after the lease.
      const slow = addFaultRule(client, { match: isHeartbeat, mode: 'slow', delayMs: 2_500 });
      const q = 'hb-slow';
      await queue.enqueue('hb', {}, { queue: q, timeoutMs: 3_000, maxAttempts: 3, backoff: { baseMs: 100, maxMs: 100 } });
      const runs: Array<{ attempt: number; start: number; end?: number; aborted?: boolean }> = [];
      await queue.processJobs(
        {
          hb: async (_p: unknown, ctx: JobContext) => {
            const run: (typeof runs)[number] = { attempt: ctx.attempt, start: Date.now() };
            runs.push(run);
            try {
              if (ctx.attempt === 1) {
                await ctx.heartbeat();
                await untilAborted(ctx.signal, 8_000); // works until told to stop
              }
            } finally {
              run.end = Date.now();
              run.aborted = ctx.signal.aborted;
            }
          },
        },
        { queue: q, concurrency: 2, maxJobs: 2, pollIntervalMs: 50, leaseGraceMs: 500 },
      );
      expect(slow.hits).toBe(1);
      expect(runs.length).toBe(2);
      // The first run was stopped by its signal, and the second began only after it ended.
      expect(runs[0]!.aborted).toBe(true);
      expect(runs[1]!.start, `run 2 started ${runs[0]!.end! - runs[1]!.start} ms before run 1 ended`).toBeGreaterThanOrEqual(runs[0]!.end!);
    }, 30_000);

    it('heartbeats never extend a lease past finishBy, and the handler is aborted before it', async () => {
      const { client, queue } = queueWith();
      const leases: string[] = [];
      addFaultRule(client, {
        match: (command, input) => {
          if (isHeartbeat(command, input)) leases.push(input.ExpressionAttributeValues[':lease'].S);
          return false;
        },
        mode: 'slow',
      });
      const q = 'finish-by';
      const id = await queue.enqueue('long', {}, { queue: q, timeoutMs: 1_000, maxAttempts: 3 });
      const finishBy = Date.now() + 2_500;
      let aborted: unknown;
      const report = await queue.processJobs(
        {
          long: async (_p: unknown, ctx: JobContext) => {
            // Heartbeats keep pushing the job's own timeout out; only the worker's deadline can stop it.
            for (let i = 0; i < 25 && !ctx.signal.aborted; i++) {
              await ctx.heartbeat();
              await untilAborted(ctx.signal, 200);
            }
            aborted = ctx.signal.aborted ? ctx.signal.reason : 'not aborted';
          },
        },
        { queue: q, finishBy, leaseGraceMs: 500 },
      );
      expect(report.claimed).toBe(1);
      expect(leases.length).toBeGreaterThan(0);
      expect(leases.filter((l) => Date.parse(l) > finishBy), 'leases written past finishBy').toEqual([]);
      expect(aborted).toMatchObject({ code: 'WORKER_DEADLINE' });
      const job = await queue.getJob(id);
      // The attempt ended with an outcome (a retry), not with a lease left to run out.
      expect(job).toMatchObject({ status: 'pending', attempts: 1, leaseUntil: null });
      expect(job?.error).toMatch(/finishBy/);
    }, 30_000);
  });

  describe('2: outcome writes survive blips', () => {
    const outcomes = [
      { kind: 'completed', handler: () => 'ok', status: 'completed', maxAttempts: 1 },
      { kind: 'retry', handler: () => Promise.reject(new Error('boom')), status: 'pending', maxAttempts: 2 },
      { kind: 'failed', handler: () => Promise.reject(new Error('boom')), status: 'failed', maxAttempts: 1 },
    ] as const;

    for (const o of outcomes) {
      it(`a ${o.kind} write that fails on every SDK attempt is retried until it lands`, async () => {
        const { client, queue } = queueWith();
        const blip = addFaultRule(client, { match: isOutcomeWrite(o.kind), mode: 'before', times: SDK_ATTEMPTS });
        const q = `blip-${o.kind}`;
        // A retry due in 10 minutes: under load the blipped write can take longer than the default
        // 1 s backoff, and the same drain would then run (and fail) the second attempt.
        const id = await queue.enqueue('work', {}, { queue: q, maxAttempts: o.maxAttempts, timeoutMs: 5_000, backoff: { baseMs: 600_000 } });
        const events: WorkerEvent[] = [];
        const failedHook: string[] = [];
        await queue.processJobs({ work: { handler: o.handler, onFailed: (_e, job) => void failedHook.push(job.id) } }, { queue: q, onEvent: (e) => events.push(e) });
        expect(blip.hits).toBe(SDK_ATTEMPTS);
        expect(events.filter((e) => e.kind === 'error').map((e) => e.error.message)).toEqual([]);
        const job = await queue.getJob(id);
        expect(job?.status).toBe(o.status);
        expect(job?.leaseUntil).toBeNull();
        expect(failedHook).toEqual(o.kind === 'failed' ? [id] : []);
      }, 30_000);
    }

    it('a completion whose every response is lost after it landed is recognised as done (one write id across resends)', async () => {
      const { client, queue } = queueWith();
      const lost = addFaultRule(client, { match: isOutcomeWrite('completed'), mode: 'after', times: SDK_ATTEMPTS });
      const q = 'lost-completion';
      const id = await queue.enqueue('work', {}, { queue: q, maxAttempts: 1 });
      const events: WorkerEvent[] = [];
      const report = await queue.processJobs({ work: () => 'ok' }, { queue: q, onEvent: (e) => events.push(e) });
      expect(lost.hits).toBe(SDK_ATTEMPTS);
      expect(report).toMatchObject({ completed: 1, stale: 0 });
      expect(events.map((e) => e.kind)).toEqual(['claimed', 'completed']);
      expect((await queue.getJob(id))?.status).toBe('completed');
    }, 30_000);

    it('a final failure whose every response is lost still calls onFailed once', async () => {
      const { client, queue } = queueWith();
      addFaultRule(client, { match: isOutcomeWrite('failed'), mode: 'after', times: SDK_ATTEMPTS });
      const q = 'lost-failure';
      const id = await queue.enqueue('work', {}, { queue: q, maxAttempts: 1 });
      const failedHook: string[] = [];
      const report = await queue.processJobs({ work: { handler: () => Promise.reject(new Error('no')), onFailed: (_e, job) => void failedHook.push(job.id) } }, { queue: q });
      expect(report).toMatchObject({ failed: 1, stale: 0 });
      expect(failedHook).toEqual([id]);
    }, 30_000);

    it('a handler that succeeded on its last attempt never ends failed after a completion blip', async () => {
      const { client, queue } = queueWith();
      addFaultRule(client, { match: isOutcomeWrite('completed'), mode: 'before', times: SDK_ATTEMPTS });
      const q = 'last-attempt';
      // The lease (3 s + 0.2 s) outlasts the SDK's own retries (about 1.5 s at most) and the resends.
      const id = await queue.enqueue('work', {}, { queue: q, maxAttempts: 1, timeoutMs: 3_000 });
      const failedHook: string[] = [];
      const handlers = { work: { handler: () => 'ok', onFailed: (_e: Error, job: { id: string }) => void failedHook.push(job.id) } };
      await queue.processJobs(handlers, { queue: q, leaseGraceMs: 200 });
      await sleep(3_500); // past the lease: a job left processing would now count as abandoned
      await queue.processJobs(handlers, { queue: q, leaseGraceMs: 200 });
      expect((await queue.getJob(id))?.status).toBe('completed');
      expect(failedHook).toEqual([]);
    }, 30_000);

    it('a claim whose write landed but whose every response errored belongs to its claimer', async () => {
      const { client, queue } = queueWith();
      const lost = addFaultRule(client, { match: isClaim, mode: 'after', times: SDK_ATTEMPTS });
      const q = 'lost-claim';
      const id = await queue.enqueue('work', {}, { queue: q, maxAttempts: 1 });
      const report = await queue.processJobs({ work: () => 'ok' }, { queue: q });
      expect(lost.hits).toBe(SDK_ATTEMPTS);
      expect(report).toMatchObject({ claimed: 1, completed: 1, lostRaces: 0 });
      expect(await queue.getJob(id)).toMatchObject({ status: 'completed', attempts: 1 });
    }, 30_000);
  });

  describe('3 and 7d: enqueueMany tells the truth', () => {
    /** Every input id in exactly one of written / notWritten / unknown, and the table agrees. */
    const checkPartition = async (err: EnqueueError, count: number) => {
      const all = [...err.written, ...err.notWritten, ...err.unknown];
      expect(new Set(all).size, 'ids listed').toBe(all.length);
      expect(all.length, 'every input accounted for').toBe(count);
      expect(new Set(all)).toEqual(new Set(err.ids));
      const inTable = await tableIds();
      expect(err.written.filter((id) => !inTable.has(id)), 'written but absent').toEqual([]);
      expect(err.notWritten.filter((id) => inTable.has(id)), 'not written but present').toEqual([]);
    };

    it('a keyed put that fails after the batch was written reports both, and notifies the written', async () => {
      const notified: EnqueuedJob[] = [];
      const { client, queue } = queueWith({ onEnqueued: (jobs) => void notified.push(...jobs) });
      addFaultRule(client, { match: (c) => c === 'PutItemCommand', mode: 'before', kind: 'throttle', times: 100 });
      const q = 'many-keyed-fails';
      const err = await queue
        .enqueueMany([
          { type: 'a', payload: {}, options: { queue: q } },
          { type: 'b', payload: {}, options: { queue: q, idempotencyKey: 'k1' } },
          { type: 'c', payload: {}, options: { queue: q } },
        ])
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EnqueueError);
      const e = err as EnqueueError;
      await checkPartition(e, 3);
      expect(e.notWritten).toEqual([idempotentJobId(q, 'k1')]);
      expect(e.written).toEqual([e.ids[0], e.ids[2]]);
      expect(notified.map((j) => j.id).sort()).toEqual([...e.written].sort());
    }, 30_000);

    it('a batch that landed but whose responses were lost is reported written, and never resent whole', async () => {
      const notified: EnqueuedJob[] = [];
      const { client, queue } = queueWith({ onEnqueued: (jobs) => void notified.push(...jobs) });
      const lost = addFaultRule(client, { match: (c) => c === 'BatchWriteItemCommand', mode: 'after', times: SDK_ATTEMPTS });
      const q = 'many-lost-batch';
      const ids = await queue.enqueueMany([1, 2, 3].map((n) => ({ type: 'a', payload: { n }, options: { queue: q } })));
      expect(lost.seen.length, 'BatchWriteItem sends').toBe(1);
      const inTable = await tableIds();
      expect(ids.filter((id) => !inTable.has(id))).toEqual([]);
      expect(notified.map((j) => j.id).sort()).toEqual([...ids].sort());
    }, 30_000);

    it('a failed batch accounts for the keyed jobs of the same call too', async () => {
      const { client, queue } = queueWith();
      addFaultRule(client, { match: (c) => c === 'BatchWriteItemCommand', mode: 'before', kind: 'throttle', times: 100 });
      const q = 'many-batch-fails';
      const err = await queue
        .enqueueMany([
          { type: 'a', payload: {}, options: { queue: q } },
          { type: 'b', payload: {}, options: { queue: q, idempotencyKey: 'k2' } },
        ])
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EnqueueError);
      await checkPartition(err as EnqueueError, 2);
      expect((err as EnqueueError).written).toEqual([]);
    }, 30_000);

    it('a batch whose response was lost while a worker claimed one of its jobs does not reset that job', async () => {
      const { queue: worker } = queueWith();
      const { client, queue: producer } = queueWith();
      const q = 'many-resent-batch';
      let claimedId: string | undefined;
      client.middlewareStack.add(
        (next, context) => async (args) => {
          if (context.commandName !== 'BatchWriteItemCommand' || claimedId) return next(args);
          await next(args); // the batch is written...
          const read = await queryDue(worker.store, q, 0, 25); // ...a worker claims one of its jobs...
          claimedId = (await claimJob(worker.store, read.candidates[0]!, 'edge-worker', 2_000))?.job.id;
          throw faultError('http500', 'BatchWriteItemCommand'); // ...and the producer saw a 500
        },
        { step: 'deserialize', name: 'loseBatchResponse', priority: 'high' },
      );
      await producer.enqueueMany([{ type: 'a', payload: { n: 1 }, options: { queue: q } }, { type: 'a', payload: { n: 2 }, options: { queue: q } }]);
      expect(claimedId).toBeDefined();
      expect(await worker.getJob(claimedId!)).toMatchObject({ status: 'processing', attempts: 1 });
    }, 30_000);
  });

  describe('7c: recurring firings', () => {
    it('a late redelivery of a firing does not re-create its job even when completed jobs are kept only 1 s', async () => {
      let now = Date.now();
      const { queue } = queueWith({ retention: { completedMs: 1_000 }, clock: { now: () => now } });
      const firing = { schedule: 'nightly', type: 'report', payload: {}, options: { queue: 'firings', priority: 10, maxAttempts: 3, timeoutMs: 60_000, backoff: { baseMs: 1_000, maxMs: 300_000 } }, scheduledTime: new Date(now).toISOString() };
      const id = await fireRecurring(queue, firing);
      await queue.processJobs({ report: () => 'done' }, { queue: 'firings' });
      expect((await queue.getJob(id))?.status).toBe('completed');
      now += 23 * 3_600_000; // Scheduler may redeliver the firing for up to 24 h
      expect(await fireRecurring(queue, firing)).toBe(id);
      expect(await queue.getJob(id)).toMatchObject({ status: 'completed', attempts: 1 });
    }, 30_000);
  });
});
