/**
 * Debounce against DynamoDB Local: many enqueues of one key inside the window give one run with
 * the last payload; an enqueue during the run gets a new job; an older enqueue arriving late never
 * overwrites a newer payload; bad options are refused with nothing written.
 */
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobQueue, ValidationError } from '../../lib/index.ts';
import { freshQueue, sleep } from '../helpers/ddb.ts';

let queue: JobQueue;
let client: DynamoDBClient;
let tableName: string;
let cleanup: () => Promise<void>;

beforeAll(async () => ({ queue, client, tableName, cleanup } = await freshQueue({ shardCount: 4 })));
afterAll(async () => cleanup());

async function countItems(): Promise<number> {
  const res = await client.send(new ScanCommand({ TableName: tableName, Select: 'COUNT', ConsistentRead: true }));
  return res.Count ?? 0;
}

/** Drains `q` until no job is due within `withinMs`, recording each run's payload. */
async function drainRuns(q: string, withinMs: number, runs: unknown[], workers = 1): Promise<void> {
  await Promise.all(
    Array.from({ length: workers }, () =>
      queue.processJobs({ bump: (p: unknown) => void runs.push(p) }, { queue: q, concurrency: 4, waitForDueWithinMs: withinMs }),
    ),
  );
}

describe('debounce', () => {
  it('50 enqueues of one key inside the window leave one job, run once with the last payload', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 50; i++) ids.push(await queue.enqueue('bump', { n: i }, { queue: 'd1', debounce: { key: 'doc-1', windowMs: 1_000 } }));
    expect(new Set(ids).size).toBe(1);
    const job = await queue.getJob(ids[0]!);
    expect(job).toMatchObject({ status: 'pending', payload: { n: 49 }, debounceKey: 'doc-1' });
    const runs: unknown[] = [];
    await drainRuns('d1', 3_000, runs, 3);
    expect(runs).toEqual([{ n: 49 }]);
    expect((await queue.getJob(ids[0]!))!.status).toBe('completed');
  });

  it('50 concurrent enqueues of one key: one job, the payload of the last call', async () => {
    const ids = await Promise.all(Array.from({ length: 50 }, (_, i) => queue.enqueue('bump', { n: i }, { queue: 'd2', debounce: { key: 'k', windowMs: 1_000 } })));
    expect(new Set(ids).size).toBe(1);
    const runs: unknown[] = [];
    await drainRuns('d2', 3_000, runs, 2);
    expect(runs).toEqual([{ n: 49 }]);
  });

  it('each enqueue pushes the due time to one window after it (trailing)', async () => {
    const id = await queue.enqueue('bump', { n: 1 }, { queue: 'd3', debounce: { key: 'k', windowMs: 60_000 } });
    const first = (await queue.getJob(id))!.runAt.getTime();
    await sleep(20);
    expect(await queue.enqueue('bump', { n: 2 }, { queue: 'd3', debounce: { key: 'k', windowMs: 60_000 } })).toBe(id);
    const second = (await queue.getJob(id))!.runAt.getTime();
    expect(second).toBeGreaterThan(first);
    // Not due yet: a drain runs nothing.
    const report = await queue.processJobs({ bump: () => null }, { queue: 'd3' });
    expect(report.claimed).toBe(0);
  });

  it('an enqueue while the job runs starts a new pending job, not merged into the running one', async () => {
    const runs: unknown[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    const first = await queue.enqueue('bump', { n: 1 }, { queue: 'd4', debounce: { key: 'k', windowMs: 50 } });
    const handlers = {
      bump: async (p: unknown) => {
        runs.push(p);
        if (runs.length === 1) {
          started();
          await gate;
        }
      },
    };
    const drain = queue.processJobs(handlers, { queue: 'd4', concurrency: 2, waitForDueWithinMs: 2_000 });
    await running;
    const second = await queue.enqueue('bump', { n: 2 }, { queue: 'd4', debounce: { key: 'k', windowMs: 50 } });
    expect(second).not.toBe(first);
    expect((await queue.getJob(first))!.payload).toEqual({ n: 1 });
    release();
    await drain;
    if ((await queue.getJob(second))!.status !== 'completed') await queue.processJobs(handlers, { queue: 'd4', waitForDueWithinMs: 2_000 });
    expect(runs).toEqual([{ n: 1 }, { n: 2 }]);
  });

  it('an older enqueue that arrives late does not overwrite a newer payload', async () => {
    // A producer whose clock is 10 s behind: its enqueue is older, whenever it lands.
    const late = new JobQueue({ tableName, client, shardCount: 4, clock: { now: () => Date.now() - 10_000 } });
    const id = await queue.enqueue('bump', { n: 'new' }, { queue: 'd5', debounce: { key: 'k', windowMs: 60_000 } });
    expect(await late.enqueue('bump', { n: 'old' }, { queue: 'd5', debounce: { key: 'k', windowMs: 60_000 } })).toBe(id);
    expect((await queue.getJob(id))!.payload).toEqual({ n: 'new' });
  });

  it('a cancelled debounced job is not revived: the next enqueue creates a new one', async () => {
    const id = await queue.enqueue('bump', { n: 1 }, { queue: 'd6', debounce: { key: 'k', windowMs: 60_000 } });
    expect(await queue.cancelJob(id)).toBe(true);
    const next = await queue.enqueue('bump', { n: 2 }, { queue: 'd6', debounce: { key: 'k', windowMs: 60_000 } });
    expect(next).not.toBe(id);
    expect((await queue.getJob(id))!.status).toBe('cancelled');
    expect((await queue.getJob(next))!).toMatchObject({ status: 'pending', payload: { n: 2 } });
  });

  it('keys are per queue, and enqueueMany resolves every job of a key to one id with the last payload', async () => {
    const ids = await queue.enqueueMany([
      { type: 'bump', payload: { n: 1 }, options: { queue: 'd7', debounce: { key: 'a', windowMs: 60_000 } } },
      { type: 'bump', payload: { n: 2 }, options: { queue: 'd7', debounce: { key: 'b', windowMs: 60_000 } } },
      { type: 'bump', payload: { n: 3 }, options: { queue: 'd7', debounce: { key: 'a', windowMs: 60_000 } } },
      { type: 'bump', payload: { n: 4 }, options: { queue: 'd8', debounce: { key: 'a', windowMs: 60_000 } } },
      { type: 'bump', payload: { n: 5 }, options: { queue: 'd7' } },
    ]);
    expect(ids[0]).toBe(ids[2]);
    expect(new Set(ids).size).toBe(4);
    expect((await queue.getJob(ids[0]!))!.payload).toEqual({ n: 3 });
    expect((await queue.getJob(ids[3]!))!.payload).toEqual({ n: 4 });
  });

  it.each([
    [{ debounce: { key: '', windowMs: 100 } }, 'options.debounce.key'],
    [{ debounce: { key: 'a b', windowMs: 100 } }, 'options.debounce.key'],
    [{ debounce: { key: 'x'.repeat(129), windowMs: 100 } }, 'options.debounce.key'],
    [{ debounce: { key: 'k', windowMs: 0 } }, 'options.debounce.windowMs'],
    [{ debounce: { key: 'k', windowMs: 86_400_001 } }, 'options.debounce.windowMs'],
    [{ debounce: { key: 'k', windowMs: 1.5 } }, 'options.debounce.windowMs'],
    [{ debounce: { key: 'k', windowMs: 100, extra: 1 } }, 'options.debounce.extra'],
    [{ debounce: 'k' }, 'options.debounce'],
    [{ debounce: { key: 'k', windowMs: 100 }, idempotencyKey: 'i' }, 'options.debounce'],
    [{ debounce: { key: 'k', windowMs: 100 }, delayMs: 5 }, 'options.debounce'],
    [{ debounce: { key: 'k', windowMs: 100 }, runAt: Date.now() }, 'options.debounce'],
  ])('refuses %j naming %s, with nothing written', async (options, field) => {
    const before = await countItems();
    const err = await queue.enqueue('bump', {}, options as never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).field).toBe(field);
    const many = await queue.enqueueMany([{ type: 'bump', payload: {} }, { type: 'bump', payload: {}, options: options as never }]).catch((e: unknown) => e);
    expect((many as ValidationError).field).toBe(`jobs[1].${field}`);
    expect(await countItems()).toBe(before);
  });
});
