/**
 * FIFO per group against DynamoDB Local, workers in this process: per group, starts follow enqueue
 * order and runs never overlap, with retries, dead letters and cancellations in the mix; a slow
 * group does not hold the others back; bad input is refused with nothing written.
 */
import { GetItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobQueue, ValidationError } from '../../lib/index.ts';
import { freshQueue, sleep } from '../helpers/ddb.ts';
import { addOne, counter, createAppTable } from '../helpers/app-table.ts';
import type { JobContext } from '../../lib/index.ts';
import { cancelInput } from '../../lib/store/cancel-job.ts';
import { cancelFifoJob } from '../../lib/store/fifo-cancel.ts';
import { newWriteId } from '../../lib/store/fenced-update.ts';
import { pendingJobsFromRecords } from '../../lib/scheduler/stream.ts';

let queue: JobQueue;
let client: DynamoDBClient;
let tableName: string;
let cleanup: () => Promise<void>;

const FIFO = ['f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7', 'f8', 'f9'];
beforeAll(async () => ({ queue, client, tableName, cleanup } = await freshQueue({ shardCount: 4, limits: Object.fromEntries(FIFO.map((q) => [q, { group: { fifo: true } }])) })));
afterAll(async () => cleanup());

interface Run {
  readonly group: string;
  readonly n: number;
  readonly attempt: number;
  readonly start: number;
  end: number;
  readonly ok: boolean;
}

interface Work {
  readonly group: string;
  readonly n: number;
  readonly ms?: number;
  readonly failFirst?: boolean;
  readonly failAlways?: boolean;
}

/** A handler that records each run's start and end, sleeps `ms`, and fails as the payload says. */
function recorder(runs: Run[]) {
  return async (p: Work, ctx: { attempt: number }) => {
    const fail = p.failAlways || (p.failFirst && ctx.attempt === 1);
    const run: Run = { group: p.group, n: p.n, attempt: ctx.attempt, start: Date.now(), end: Infinity, ok: !fail };
    runs.push(run);
    await sleep(p.ms ?? 5);
    run.end = Date.now();
    if (fail) throw new Error(`planned failure of ${p.group}/${p.n}`);
    return null;
  };
}

/** Per group: runs start in `n` order (retries of one job together), and no two runs overlap. */
function checkOrder(runs: readonly Run[], expected: Record<string, number[]>): void {
  for (const [group, ns] of Object.entries(expected)) {
    const mine = runs.filter((r) => r.group === group).sort((a, b) => a.start - b.start);
    expect(mine.filter((r) => r.ok || r.attempt === 1).map((r) => r.n).filter((n, i, a) => a.indexOf(n) === i)).toEqual(ns);
    for (let i = 1; i < mine.length; i++) expect(mine[i]!.start, `${group}: run ${i} starts before run ${i - 1} ends`).toBeGreaterThanOrEqual(mine[i - 1]!.end);
  }
}

async function drainAll(q: string, runs: Run[], workers: number, withinMs = 1_500): Promise<void> {
  await Promise.all(Array.from({ length: workers }, () => queue.processJobs({ work: recorder(runs) }, { queue: q, concurrency: 4, waitForDueWithinMs: withinMs })));
}

async function countItems(): Promise<number> {
  return (await client.send(new ScanCommand({ TableName: tableName, Select: 'COUNT', ConsistentRead: true }))).Count ?? 0;
}

describe('FIFO per group', () => {
  it('starts the jobs of each group in enqueue order, one at a time, with retries in the mix', async () => {
    const groups = ['a', 'b', 'c'];
    for (let n = 0; n < 6; n++) {
      for (const group of groups) {
        await queue.enqueue('work', { group, n, failFirst: n % 3 === 1 } satisfies Work, { queue: 'f1', group, backoff: { baseMs: 20, maxMs: 50 } });
      }
    }
    const runs: Run[] = [];
    await drainAll('f1', runs, 2);
    checkOrder(runs, Object.fromEntries(groups.map((g) => [g, [0, 1, 2, 3, 4, 5]])));
    expect(runs.filter((r) => !r.ok)).toHaveLength(6); // each failFirst job (n = 1, 4) failed once, then ran again
  });

  it('a retrying job holds its group: the next job starts only after its retry completed', async () => {
    await queue.enqueue('work', { group: 'g', n: 0, failFirst: true } satisfies Work, { queue: 'f2', group: 'g', backoff: { baseMs: 300, maxMs: 300 } });
    await queue.enqueue('work', { group: 'g', n: 1 } satisfies Work, { queue: 'f2', group: 'g' });
    const runs: Run[] = [];
    await drainAll('f2', runs, 2);
    expect(runs.map((r) => [r.n, r.attempt, r.ok])).toEqual([[0, 1, false], [0, 2, true], [1, 1, true]]);
    expect(runs[2]!.start).toBeGreaterThanOrEqual(runs[1]!.end);
  });

  it('a dead letter hands the group on; a cancelled job in the middle and a cancelled head are skipped', async () => {
    const dead = await queue.enqueue('work', { group: 'd', n: 0, failAlways: true } satisfies Work, { queue: 'f3', group: 'd', maxAttempts: 1 });
    const middle = await queue.enqueue('work', { group: 'd', n: 1 } satisfies Work, { queue: 'f3', group: 'd' });
    await queue.enqueue('work', { group: 'd', n: 2 } satisfies Work, { queue: 'f3', group: 'd' });
    // A head that waits an hour (delayed), cancelled: the job behind it must not wait.
    const head = await queue.enqueue('work', { group: 'h', n: 0 } satisfies Work, { queue: 'f3', group: 'h', delayMs: 3_600_000 });
    await queue.enqueue('work', { group: 'h', n: 1 } satisfies Work, { queue: 'f3', group: 'h' });
    expect(await queue.cancelJob(middle)).toBe(true);
    expect(await queue.cancelJob(head)).toBe(true);
    const runs: Run[] = [];
    await drainAll('f3', runs, 2);
    expect(runs.filter((r) => r.group === 'd').map((r) => r.n)).toEqual([0, 2]);
    expect(runs.filter((r) => r.group === 'h').map((r) => r.n)).toEqual([1]);
    expect((await queue.getJob(dead))!).toMatchObject({ status: 'failed', group: 'd', fifoSeq: 1 });
    // A dead letter of a FIFO group is not put back (its group has moved on).
    expect(await queue.retryJob(dead)).toBe(false);
  });

  it('a cancel that read a job parked behind the head, landing after the job became the head, hands the group on', async () => {
    await queue.enqueue('work', { group: 'r', n: 0 } satisfies Work, { queue: 'f6', group: 'r' });
    const second = await queue.enqueue('work', { group: 'r', n: 1 } satisfies Work, { queue: 'f6', group: 'r' });
    await queue.enqueue('work', { group: 'r', n: 2 } satisfies Work, { queue: 'f6', group: 'r' });
    const parked = (await client.send(new GetItemCommand({ TableName: tableName, Key: { id: { S: second } }, ConsistentRead: true }))).Item!;
    expect(parked.status_shard!.S).toContain('#fifo#');
    const runs: Run[] = [];
    await queue.processJobs({ work: recorder(runs) }, { queue: 'f6', maxJobs: 1 }); // the head completes: `second` is promoted
    const writeId = newWriteId();
    expect(await cancelFifoJob(queue.store, parked, (it) => cancelInput(queue.store, it, writeId), writeId)).toBe(true);
    await drainAll('f6', runs, 1);
    expect(runs.map((r) => r.n)).toEqual([0, 2]);
    expect((await queue.getJob(second))!.status).toBe('cancelled');
  });

  it('completeWith in a FIFO job applies the effects, completes the job and hands the group on in one transaction', async () => {
    const app = `${tableName}-app`;
    await createAppTable(client, app);
    for (let n = 0; n < 3; n++) await queue.enqueue('work', { group: 'e', n } satisfies Work, { queue: 'f7', group: 'e', backoff: { baseMs: 10, maxMs: 10 } });
    const order: string[] = [];
    const handler = async (p: Work, ctx: JobContext) => {
      order.push(`${p.n}.${ctx.attempt}`);
      // Job 1's first attempt checks an item that does not exist: nothing is applied, and the job retries, holding the group.
      const check = { ConditionCheck: { TableName: app, Key: { pk: { S: 'missing' } }, ConditionExpression: 'attribute_exists(pk)' } };
      await ctx.completeWith(p.n === 1 && ctx.attempt === 1 ? [addOne(app, 'c'), check] : [addOne(app, 'c')], { n: p.n });
    };
    await Promise.all(Array.from({ length: 2 }, () => queue.processJobs({ work: handler }, { queue: 'f7', concurrency: 4, waitForDueWithinMs: 1_500 })));
    expect(order).toEqual(['0.1', '1.1', '1.2', '2.1']);
    expect(await counter(client, app, 'c')).toBe(3);
    expect(await queue.fifoGroup({ queue: 'f7', group: 'e' })).toMatchObject({ last: 3, head: null });
  });

  it('a slow group does not delay the others: its first job ends only once every job of the others has run', async () => {
    for (let n = 0; n < 2; n++) await queue.enqueue('work', { group: 'slow', n } satisfies Work, { queue: 'f4', group: 'slow' });
    for (let n = 0; n < 6; n++) for (const group of ['x', 'y']) await queue.enqueue('work', { group, n } satisfies Work, { queue: 'f4', group });
    const runs: Run[] = [];
    let othersDone!: () => void;
    const gate = new Promise<void>((r) => (othersDone = r));
    const record = recorder(runs);
    const handler = async (p: Work, ctx: { attempt: number }) => {
      if (p.group === 'slow' && p.n === 0) await gate; // held until x and y are through: blocked, they would never be
      await record(p, ctx);
      if (runs.filter((r) => r.group !== 'slow' && r.end !== Infinity).length === 12) othersDone();
    };
    await Promise.all(Array.from({ length: 2 }, () => queue.processJobs({ work: handler }, { queue: 'f4', concurrency: 4, waitForDueWithinMs: 1_500 })));
    checkOrder(runs, { slow: [0, 1], x: [...Array(6).keys()], y: [...Array(6).keys()] });
    expect(runs.findIndex((r) => r.group === 'slow')).toBe(12);
  });

  it('an idempotency key dedupes FIFO jobs: the same key returns the first job and takes no position', async () => {
    const a = await queue.enqueue('work', { group: 'k', n: 0 } satisfies Work, { queue: 'f5', group: 'k', idempotencyKey: 'order-1' });
    const b = await queue.enqueue('work', { group: 'k', n: 9 } satisfies Work, { queue: 'f5', group: 'k', idempotencyKey: 'order-1' });
    const c = await queue.enqueue('work', { group: 'k', n: 1 } satisfies Work, { queue: 'f5', group: 'k', idempotencyKey: 'order-2' });
    const many = await queue.enqueueMany([{ type: 'work', payload: { group: 'k', n: 9 }, options: { queue: 'f5', group: 'k', idempotencyKey: 'order-2' } }]);
    expect(b).toBe(a);
    expect(many).toEqual([c]);
    expect((await queue.getJob(c))!.fifoSeq).toBe(2);
    const runs: Run[] = [];
    await drainAll('f5', runs, 1);
    expect(runs.filter((r) => r.group === 'k').map((r) => r.n)).toEqual([0, 1]);
  });

  it('lists and counts the jobs parked behind a head as pending, page by page', async () => {
    const ids: string[] = [];
    for (let n = 0; n < 5; n++) for (const group of ['p', 'q']) ids.push(await queue.enqueue('work', { group, n } satisfies Work, { queue: 'f8', group }));
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await queue.listJobs({ status: 'pending', queue: 'f8', limit: 3, ...(cursor ? { cursor } : {}) });
      seen.push(...page.jobs.map((j) => j.id));
      cursor = page.cursor;
    } while (cursor);
    expect(seen.sort()).toEqual([...ids].sort());
    expect((await queue.stats({ queue: 'f8' })).counts.pending).toBe(10);
  });

  it('the stream trigger kicks for a head and for a promoted job, not for a job parked behind its head', async () => {
    const head = await queue.enqueue('work', { group: 's', n: 0 } satisfies Work, { queue: 'f9', group: 's' });
    const parked = await queue.enqueue('work', { group: 's', n: 1 } satisfies Work, { queue: 'f9', group: 's' });
    const image = async (id: string) => (await client.send(new GetItemCommand({ TableName: tableName, Key: { id: { S: id } }, ConsistentRead: true }))).Item!;
    const records = async (ids: string[]) => Promise.all(ids.map(async (id) => ({ eventName: 'INSERT', dynamodb: { NewImage: (await image(id)) as never } })));
    expect(pendingJobsFromRecords(await records([head, parked])).map((j) => j.queue)).toEqual(['f9']);
    await queue.processJobs({ work: () => null }, { queue: 'f9', maxJobs: 1 }); // the head completes; `parked` is promoted (a MODIFY)
    expect(pendingJobsFromRecords(await records([parked]))).toHaveLength(1);
  });

  it('jobs without a group in a FIFO queue, and groups in other queues, are plain jobs', async () => {
    const plain = await queue.enqueue('work', { group: '-', n: 0 }, { queue: 'f5' });
    const other = await queue.enqueue('work', { group: 'z', n: 0 }, { queue: 'plain', group: 'z' });
    expect((await queue.getJob(plain))!.fifoSeq).toBeNull();
    expect((await queue.getJob(other))!).toMatchObject({ group: 'z', fifoSeq: null });
  });

  it('refuses a bad group, and a group with debounce in a FIFO queue, with nothing written', async () => {
    const before = await countItems();
    const cases: [Record<string, unknown>, string][] = [
      [{ queue: 'f5', group: '' }, 'options.group'],
      [{ queue: 'f5', group: 'a#b' }, 'options.group'],
      [{ queue: 'f5', group: 'x'.repeat(129) }, 'options.group'],
      [{ queue: 'f5', group: 7 }, 'options.group'],
      [{ queue: 'f5', group: 'g', debounce: { key: 'k', windowMs: 10 } }, 'options.debounce'],
    ];
    for (const [options, field] of cases) {
      const err = await queue.enqueue('work', {}, options as never).catch((e: unknown) => e);
      expect(err, field).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).field).toBe(field);
    }
    expect(await countItems()).toBe(before);
    expect(() => new JobQueue({ tableName, client, limits: { q: { group: { fifo: 'yes' } } } as never })).toThrow(expect.objectContaining({ field: 'limits.q.group.fifo' }));
  });
});
