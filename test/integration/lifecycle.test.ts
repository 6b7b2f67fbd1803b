/**
 * The job lifecycle against DynamoDB Local: enqueue -> claim -> run -> complete / retry / fail,
 * cancel, redrive, delays, priorities, timeouts and TTL, through the public JobQueue API.
 */
import { GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PermanentJobError, Priority, schema } from '../../lib/index.ts';
import type { JobQueue, WorkerEvent } from '../../lib/index.ts';
import { freshQueue, sleep } from '../helpers/ddb.ts';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

let queue: JobQueue;
let client: DynamoDBClient;
let tableName: string;
let cleanup: () => Promise<void>;

beforeAll(async () => ({ queue, client, tableName, cleanup } = await freshQueue()));
afterAll(async () => cleanup());

async function rawItem(id: string): Promise<Record<string, unknown>> {
  const res = await client.send(new GetItemCommand({ TableName: tableName, Key: { id: { S: id } }, ConsistentRead: true }));
  return res.Item ? unmarshall(res.Item) : {};
}

describe('full lifecycle', () => {
  it('runs a job once with its payload, context and progress, and stores the result', async () => {
    const q = 'lifecycle';
    const id = await queue.enqueue('report', { rows: [1, 2, 3], meta: { owner: 'ops' } }, { queue: q });
    const pending = await queue.getJob(id);
    expect(pending).toMatchObject({ id, type: 'report', queue: q, status: 'pending', attempts: 0, maxAttempts: 3, priority: Priority.NORMAL });
    expect(pending!.payload).toEqual({ rows: [1, 2, 3], meta: { owner: 'ops' } });

    const seen: { attempt: number; status?: string }[] = [];
    const report = await queue.processJobs(
      {
        report: async (payload: { rows: number[] }, ctx) => {
          seen.push({ attempt: ctx.attempt, status: (await queue.getJob(ctx.job.id))?.status });
          await ctx.progress(1, 2, 'half');
          await ctx.progress(2, 2, 'done');
          return { sum: payload.rows.reduce((a, b) => a + b, 0) };
        },
      },
      { queue: q },
    );
    expect(report).toMatchObject({ claimed: 1, completed: 1, failed: 0, retried: 0, stoppedBecause: 'drained' });
    expect(seen).toEqual([{ attempt: 1, status: 'processing' }]);

    const job = await queue.getJob(id);
    expect(job).toMatchObject({ status: 'completed', attempts: 1, result: { sum: 6 }, error: null });
    expect(job!.progress).toMatchObject({ current: 2, total: 2, message: 'done' });
    expect(job!.startedAt!.getTime()).toBeLessThanOrEqual(job!.finishedAt!.getTime());
    expect(job!.expiresAt!.getTime() - job!.finishedAt!.getTime()).toBeGreaterThan(6.9 * 86_400_000);

    // The item reads well in the console and has left the index.
    const item = await rawItem(id);
    expect(item).toMatchObject({ status: 'completed', payload: { rows: [1, 2, 3], meta: { owner: 'ops' } }, result: { sum: 6 } });
    expect(typeof item.created_at).toBe('string');
    expect(item.created_at).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(typeof item.ttl).toBe('number');
    expect(item.status_shard).toBeUndefined();
    expect(item.run_order).toBeUndefined();
    expect(item.lease_until).toBeUndefined();
  });

  it('returns null for an unknown id and rejects a malformed one', async () => {
    expect(await queue.getJob('01234567-89ab-7def-8123-456789abcdef')).toBeNull();
    await expect(queue.getJob('not an id!')).rejects.toMatchObject({ name: 'ValidationError', field: 'id' });
  });
});

describe('retries, dead letters and retryJob', () => {
  it('retries with backoff, then fails for good, calls onFailed once, and redrives', async () => {
    const q = 'retries';
    const id = await queue.enqueue('boom', { n: 1 }, { queue: q, maxAttempts: 3, backoff: { baseMs: 200, maxMs: 400 } });
    const runs: number[] = [];
    const failedHook: string[] = [];
    const events: WorkerEvent[] = [];
    const handlers = {
      boom: {
        handler: () => {
          runs.push(Date.now());
          throw new Error(`kaput #${runs.length}`);
        },
        onFailed: (err: Error, job: { id: string }) => void failedHook.push(`${job.id}:${err.message}`),
      },
    };
    // A drain that waits for the retries that fall due within 5 s.
    const report = await queue.processJobs(handlers, { queue: q, waitForDueWithinMs: 5_000, onEvent: (e) => events.push(e) });
    expect(report).toMatchObject({ claimed: 3, retried: 2, failed: 1, completed: 0 });
    expect(runs).toHaveLength(3);
    // Backoff: attempt 1 -> [100, 200] ms, attempt 2 -> [200, 400] ms (plus the drain's own latency).
    expect(runs[1]! - runs[0]!).toBeGreaterThanOrEqual(100);
    expect(runs[2]! - runs[1]!).toBeGreaterThanOrEqual(200);
    expect(failedHook).toEqual([`${id}:kaput #3`]);
    expect(events.filter((e) => e.kind === 'retrying')).toHaveLength(2);

    const dead = await queue.getJob(id);
    expect(dead).toMatchObject({ status: 'failed', attempts: 3, error: 'kaput #3' });
    const listed = await queue.listJobs({ status: 'failed', queue: q });
    expect(listed.jobs.map((j) => j.id)).toEqual([id]);

    expect(await queue.retryJob(id)).toBe(true);
    expect(await queue.retryJob(id)).toBe(false); // now pending: nothing to redrive
    const redriven = await queue.getJob(id);
    expect(redriven).toMatchObject({ status: 'pending', attempts: 0, error: 'kaput #3', finishedAt: null, expiresAt: null });
    expect((await queue.listJobs({ status: 'failed', queue: q })).jobs).toEqual([]);

    const second = await queue.processJobs({ boom: () => 'fine now' }, { queue: q });
    expect(second.completed).toBe(1);
    expect(await queue.getJob(id)).toMatchObject({ status: 'completed', attempts: 1, result: 'fine now' });
  });

  it('fails at once, without retries, on PermanentJobError and on an unknown job type', async () => {
    const q = 'permanent';
    const a = await queue.enqueue('strict', {}, { queue: q, maxAttempts: 5 });
    const b = await queue.enqueue('nobody_handles_this', {}, { queue: q, maxAttempts: 5 });
    const report = await queue.processJobs({ strict: () => { throw new PermanentJobError('bad payload'); } }, { queue: q });
    expect(report).toMatchObject({ claimed: 2, failed: 2, retried: 0 });
    expect(await queue.getJob(a)).toMatchObject({ status: 'failed', attempts: 1, error: 'bad payload' });
    const unknown = await queue.getJob(b);
    expect(unknown).toMatchObject({ status: 'failed', attempts: 1 });
    expect(unknown!.error).toContain('No handler registered for job type "nobody_handles_this"');
    expect(unknown!.error).toContain('strict');
  });

  it('aborts the signal at the timeout and counts it as a failed attempt', async () => {
    const q = 'timeouts';
    const id = await queue.enqueue('slow', {}, { queue: q, timeoutMs: 150, maxAttempts: 1 });
    let abortedWith: unknown;
    const report = await queue.processJobs(
      {
        slow: (_p, ctx) =>
          new Promise((_, reject) => {
            ctx.signal.addEventListener('abort', () => {
              abortedWith = ctx.signal.reason;
              reject(ctx.signal.reason);
            });
          }),
      },
      { queue: q },
    );
    expect(report.failed).toBe(1);
    expect((abortedWith as Error).name).toBe('JobTimeoutError');
    const job = await queue.getJob(id);
    expect(job!.status).toBe('failed');
    expect(job!.error).toMatch(/timed out after 150 ms/);
  });

  it('fails a job whose result is not JSON, keeping the reason', async () => {
    const q = 'badresult';
    const id = await queue.enqueue('weird', {}, { queue: q, maxAttempts: 3 });
    await queue.processJobs({ weird: () => ({ when: 10n }) }, { queue: q });
    const job = await queue.getJob(id);
    expect(job).toMatchObject({ status: 'failed', attempts: 1 });
    expect(job!.error).toContain('result.when');
  });
});

describe('cancelJob', () => {
  it('cancels pending jobs only', async () => {
    const q = 'cancel';
    const pending = await queue.enqueue('x', {}, { queue: q, delayMs: 60_000 });
    expect(await queue.cancelJob(pending)).toBe(true);
    expect(await queue.cancelJob(pending)).toBe(false);
    const cancelled = await queue.getJob(pending);
    expect(cancelled).toMatchObject({ status: 'cancelled' });
    expect(cancelled!.expiresAt).not.toBeNull();
    expect((await queue.listJobs({ status: 'cancelled', queue: q })).jobs.map((j) => j.id)).toEqual([pending]);

    // A running job cannot be cancelled; a finished one neither.
    const running = await queue.enqueue('x', {}, { queue: q });
    let cancelWhileRunning: boolean | undefined;
    await queue.processJobs({ x: async () => { cancelWhileRunning = await queue.cancelJob(running); } }, { queue: q });
    expect(cancelWhileRunning).toBe(false);
    expect(await queue.cancelJob(running)).toBe(false);
    expect((await queue.getJob(running))!.status).toBe('completed');
    expect(await queue.cancelJob('0192f0c4-0000-7000-8000-000000000000')).toBe(false);

    // A cancelled job is never run, and can be redriven.
    const report = await queue.processJobs({ x: () => 1 }, { queue: q });
    expect(report.claimed).toBe(0);
    expect(await queue.retryJob(pending)).toBe(true);
    expect(await queue.getJob(pending)).toMatchObject({ status: 'pending' });
  });
});

describe('delays and priorities', () => {
  it('does not run a delayed job before its runAt', async () => {
    const q = 'delayed';
    const runAt = new Date(Date.now() + 1_200);
    const id = await queue.enqueue('later', {}, { queue: q, runAt });
    const early = await queue.processJobs({ later: () => 1 }, { queue: q });
    expect(early.claimed).toBe(0);
    let startedAt = 0;
    const report = await queue.processJobs({ later: () => void (startedAt = Date.now()) }, { queue: q, waitForDueWithinMs: 3_000 });
    expect(report.completed).toBe(1);
    expect(startedAt).toBeGreaterThanOrEqual(runAt.getTime());
    expect((await queue.getJob(id))!.runAt.toISOString()).toBe(runAt.toISOString());
  });

  /** Enqueues six jobs of mixed priority (one delayed 300 ms), waits until all are due, drains one at a time. */
  async function runPriorityMix(q: JobQueue, queueName = 'default'): Promise<string[]> {
    const order: string[] = [];
    const mk = (name: string, priority: number, extra = {}) => q.enqueue('p', { name }, { queue: queueName, priority, ...extra });
    await mk('normal-1', Priority.NORMAL);
    await mk('low', Priority.LOW);
    await mk('critical', Priority.CRITICAL);
    await mk('normal-2', Priority.NORMAL);
    await mk('high-delayed', Priority.HIGH, { delayMs: 300 });
    await mk('high', Priority.HIGH);
    await sleep(400); // the delayed one is now due, in the scheduled range of its shard
    await q.processJobs({ p: (payload: { name: string }) => void order.push(payload.name) }, { queue: queueName, concurrency: 1 });
    return order;
  }

  it('runs higher priority first, then older first, including due delayed jobs', async () => {
    const order = await runPriorityMix(queue, 'priority');
    // The jobs sit in different shards; the drain reads every shard's head and takes the best first.
    expect(order[0]).toBe('critical');
    expect(order.slice(1, 3).sort()).toEqual(['high', 'high-delayed']);
    expect(order.slice(3, 5).sort()).toEqual(['normal-1', 'normal-2']);
    expect(order[5]).toBe('low');
  });

  it('keeps strict priority-then-age order within a shard', async () => {
    const { queue: single, cleanup: done } = await freshQueue({ shardCount: 1 });
    expect(await runPriorityMix(single)).toEqual(['critical', 'high', 'high-delayed', 'normal-1', 'normal-2', 'low']);
    await done();
  });
});

describe('TTL', () => {
  it('treats an expired record as gone for get, list, cancel and retry', async () => {
    const q = 'ttl';
    const id = await queue.enqueue('t', {}, { queue: q, maxAttempts: 1 });
    await queue.processJobs({ t: () => { throw new Error('no'); } }, { queue: q });
    expect((await queue.listJobs({ status: 'failed', queue: q })).jobs).toHaveLength(1);
    // DynamoDB Local never deletes expired items, and AWS does so days late: age the item by hand.
    await client.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: { id: { S: id } },
        UpdateExpression: 'SET #ttl = :past',
        ExpressionAttributeNames: { '#ttl': schema.ATTR.ttl },
        ExpressionAttributeValues: { ':past': { N: String(Math.floor(Date.now() / 1000) - 10) } },
      }),
    );
    expect(await queue.getJob(id)).toBeNull();
    expect((await queue.listJobs({ status: 'failed', queue: q })).jobs).toEqual([]);
    expect(await queue.retryJob(id)).toBe(false);
    expect(await queue.cancelJob(id)).toBe(false);
  });
});
