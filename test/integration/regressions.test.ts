/**
 * Regressions found in review, each against DynamoDB Local: work hidden behind running jobs,
 * outcomes DynamoDB would refuse, finishBy spinning, prototype-named job types, listener leaks,
 * forged cursors, and an SDK retry of an outcome write that had already landed.
 */
import { getEventListeners } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobQueue } from '../../lib/index.ts';
import { localClient } from '../../lib/local/dynamodb-local.ts';
import { claimJob } from '../../lib/store/claim-job.ts';
import { queryDue } from '../../lib/store/query-due.ts';
import { ddbEndpoint, freshQueue } from '../helpers/ddb.ts';

let queue: JobQueue;
let tableName: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ queue, tableName, cleanup } = await freshQueue()));
afterAll(async () => cleanup());

describe('queryDue / drain', () => {
  it('finds due jobs queued behind more running jobs than one page holds', async () => {
    const { queue: one, cleanup: done } = await freshQueue({ shardCount: 1 });
    await one.enqueueMany(Array.from({ length: 30 }, (_, i) => ({ type: 'slow', payload: { i } })));
    const first = await queryDue(one.store, 'default', 0, 25);
    for (const c of first.candidates) expect(await claimJob(one.store, c, 'busy-worker', 2_000)).not.toBeNull();
    const report = await one.processJobs({ slow: () => 'ok' }, { concurrency: 5 });
    expect(report.claimed).toBe(5);
    expect((await one.stats()).counts).toMatchObject({ completed: 5, processing: 25, pending: 0 });
    await done();
  });

  it('leaves jobs that cannot finish by finishBy, without spinning on them', async () => {
    const q = 'finishby';
    await queue.enqueueMany(Array.from({ length: 30 }, (_, i) => ({ type: 'long', payload: { i }, options: { queue: q, timeoutMs: 60_000 } })));
    const report = await queue.processJobs({ long: () => 'never' }, { queue: q, finishBy: Date.now() + 10_000, timeBudgetMs: 3_000 });
    expect(report).toMatchObject({ claimed: 0, deferred: 30, stoppedBecause: 'drained' });
    expect(report.queries).toBeLessThan(60);
  });

  it('does not run Object.prototype members for job types named after them', async () => {
    const q = 'proto';
    const ids = await Promise.all(['constructor', 'toString', 'hasOwnProperty'].map((t) => queue.enqueue(t, {}, { queue: q })));
    const report = await queue.processJobs({ real: () => 1 }, { queue: q });
    expect(report.failed).toBe(3);
    for (const id of ids) expect((await queue.getJob(id))!.error).toContain('No handler registered');
  });

  it('removes its abort listeners between idle waits', async () => {
    const controller = new AbortController();
    const run = queue.processJobs({}, { queue: 'idle', pollIntervalMs: 20, signal: controller.signal });
    await new Promise((r) => setTimeout(r, 600));
    expect(getEventListeners(controller.signal, 'abort').length).toBeLessThanOrEqual(2);
    controller.abort();
    expect((await run).stoppedBecause).toBe('aborted');
  });

  it('rejects bad processJobs options with a typed error', async () => {
    await expect(queue.processJobs({}, { concurrency: Number.NaN })).rejects.toMatchObject({ name: 'ValidationError', field: 'concurrency' });
    await expect(queue.processJobs({}, { batchSize: 0 })).rejects.toMatchObject({ field: 'batchSize' });
  });
});

describe('outcomes DynamoDB would refuse fail the job once, instead of leaving it processing', () => {
  const runOnce = async (q: string, handler: (p: unknown, ctx: { progress: (c: number, t?: number, m?: string) => Promise<boolean> }) => unknown, payload: unknown = {}) => {
    const id = await queue.enqueue('h', payload, { queue: q, maxAttempts: 1 });
    let runs = 0;
    const report = await queue.processJobs({ h: (p, ctx) => (runs++, handler(p, ctx)) }, { queue: q });
    return { id, runs, report, job: (await queue.getJob(id))! };
  };

  it('a result with a number JavaScript cannot hold exactly', async () => {
    const { runs, job } = await runOnce('big-number', () => ({ big: 2 ** 60 }));
    expect(runs).toBe(1);
    expect(job.status).toBe('failed');
    expect(job.error).toContain('result.big');
  });

  it('a NaN progress value', async () => {
    const { runs, job } = await runOnce('nan-progress', async (_p, ctx) => {
      await ctx.progress(0 / 0);
      return 'unreachable';
    });
    expect(runs).toBe(1);
    expect(job.status).toBe('failed');
    expect(job.error).toContain('current');
  });

  it('a thrown BigInt or cyclic object', async () => {
    const a = await runOnce('throw-bigint', () => {
      throw 10n;
    });
    expect(a.job).toMatchObject({ status: 'failed', error: '10' });
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const b = await runOnce('throw-cyclic', () => {
      throw cyclic;
    });
    expect(b.job.status).toBe('failed');
  });

  it('a long multibyte error message beside a payload near the limit', async () => {
    const { job } = await runOnce(
      'cjk-error',
      () => {
        throw new Error('错'.repeat(5_000));
      },
      { blob: 'x'.repeat(390_000) },
    );
    expect(job.status).toBe('failed');
    expect(Buffer.byteLength(job.error!, 'utf8')).toBeLessThanOrEqual(4_000);
    expect(job.error!.endsWith('...')).toBe(true);
  });
});

describe('listJobs cursor', () => {
  it('rejects a cursor whose per-shard positions were tampered with', async () => {
    const forged = Buffer.from(JSON.stringify({ v: 1, st: 'pending', q: 'default', p: Array(16).fill([1, 2]) })).toString('base64url');
    await expect(queue.listJobs({ status: 'pending', cursor: forged })).rejects.toMatchObject({ name: 'InvalidCursorError', field: 'cursor' });
  });
});

describe('fenced writes', () => {
  it('count an SDK retry of a completion that had already landed as completed, not stale', async () => {
    const q = 'lost-answer';
    const id = await queue.enqueue('x', {}, { queue: q });
    const client = localClient(ddbEndpoint());
    let dropped = 0;
    client.middlewareStack.add(
      (next) => async (args) => {
        const result = await next(args);
        const input = (args as { input: { ExpressionAttributeValues?: Record<string, unknown> } }).input;
        if (dropped === 0 && input.ExpressionAttributeValues && ':completed' in input.ExpressionAttributeValues) {
          dropped++;
          // The write reached the table; the caller sees a 500 and the SDK sends it again.
          throw Object.assign(new Error('response lost'), { name: 'InternalServerError', $fault: 'server', $metadata: { httpStatusCode: 500 } });
        }
        return result;
      },
      { step: 'deserialize', name: 'loseFirstCompletionAnswer', priority: 'low' },
    );
    const report = await new JobQueue({ tableName, client }).processJobs({ x: () => 'done' }, { queue: q });
    client.destroy();
    expect(dropped).toBe(1);
    expect(report).toMatchObject({ completed: 1, stale: 0 });
    expect(await queue.getJob(id)).toMatchObject({ status: 'completed', result: 'done', attempts: 1 });
  });
});
