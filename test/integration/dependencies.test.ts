/**
 * Dependencies and fan-in (issue 13 part 1) against DynamoDB Local: a chain by `dependsOn`, a
 * fan-in of 200 children enqueued in one call, both child-failure policies, cancelling a parent,
 * and a child finishing twice (a stale duplicate, and a resend after a lost answer) counted once.
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DependencyFailedError, DependencyNotFoundError, JobQueue, ValidationError } from '../../lib/index.ts';
import type { Job, JobContext } from '../../lib/index.ts';
import { dropTable, freshTable, testClient } from '../helpers/ddb.ts';

let client: DynamoDBClient;
let tableName: string;
let queue: JobQueue;

beforeAll(async () => {
  client = testClient();
  tableName = await freshTable(client, 'deps');
  queue = new JobQueue({ tableName, client, shardCount: 4 });
});
afterAll(async () => {
  await dropTable(client, tableName);
  client.destroy();
});

async function rawItem(id: string) {
  return (await client.send(new GetItemCommand({ TableName: tableName, Key: { id: { S: id } }, ConsistentRead: true }))).Item!;
}

/** Drains `q` until a drain claims nothing (released parents are picked up by the next drain). */
async function drainAll(handlers: Parameters<JobQueue['processJobs']>[0], q: string, concurrency = 8): Promise<void> {
  for (let round = 0; round < 20; round++) {
    const report = await queue.processJobs(handlers, { queue: q, concurrency });
    if (report.claimed === 0) return;
  }
  throw new Error('still claiming after 20 drains');
}

describe('dependsOn', () => {
  it('runs a 3-step chain in order, each step waiting until the one before completed', async () => {
    const q = 'chain';
    const a = await queue.enqueue('step', { n: 'a' }, { queue: q });
    const b = await queue.enqueue('step', { n: 'b' }, { queue: q, dependsOn: [a] });
    const c = await queue.enqueue('step', { n: 'c' }, { queue: q, dependsOn: [b] });
    expect((await queue.getJob(b))!.status).toBe('waiting');
    expect((await queue.getJob(c))!.dependencies).toMatchObject({ kind: 'jobs', total: 1, left: 1, done: 0, failed: 0, ids: [b] });
    expect((await queue.listJobs({ status: 'waiting', queue: q })).jobs.map((j) => j.id).sort()).toEqual([b, c].sort());
    expect((await queue.stats({ queue: q })).counts).toMatchObject({ waiting: 2, pending: 1 });

    const order: string[] = [];
    const seen: Record<string, Array<Job | null>> = {};
    await drainAll(
      {
        step: async (p: { n: string }, ctx: JobContext) => {
          order.push(p.n);
          seen[p.n] = await ctx.dependencies();
          return `${p.n}-done`;
        },
      },
      q,
    );
    expect(order).toEqual(['a', 'b', 'c']);
    expect(seen.c!.map((j) => j?.result)).toEqual(['b-done']);
    expect((await queue.getJob(c))!.status).toBe('completed');
    expect((await queue.getJob(c))!.dependencies).toMatchObject({ left: 0, done: 1 });
  });

  it('counts dependencies that finished before the enqueue, and refuses an id with no record, writing nothing', async () => {
    const q = 'finished-deps';
    const done = await queue.enqueue('x', {}, { queue: q });
    await drainAll({ x: async () => 1 }, q);
    const id = await queue.enqueue('after', {}, { queue: q, dependsOn: [done] });
    expect((await queue.getJob(id))!).toMatchObject({ status: 'pending', dependencies: { total: 1, left: 0, done: 1 } });

    const err = await queue.enqueue('after', {}, { queue: q, dependsOn: [done, 'no-such-job'], idempotencyKey: 'missing-dep' }).catch((e) => e);
    expect(err).toBeInstanceOf(DependencyNotFoundError);
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.missing).toEqual(['no-such-job']);
    expect(err.field).toBe('options.dependsOn');
    expect((await queue.listJobs({ status: 'waiting', queue: q })).jobs).toEqual([]);
    expect((await queue.stats({ queue: q })).total).toBe(2);
    await expect(queue.enqueue('after', {}, { queue: q, dependsOn: [] })).rejects.toThrow(/options.dependsOn/);
    await expect(queue.enqueueMany([{ type: 'a', payload: {}, options: { dependsOn: [done] } }])).rejects.toThrow(/jobs\[0\].options.dependsOn/);
  });

  it('fails a dependent whose dependency failed (policy fail), and runs one with policy continue', async () => {
    const q = 'dep-fail';
    const bad = await queue.enqueue('bad', {}, { queue: q, maxAttempts: 1 });
    const strict = await queue.enqueue('after', {}, { queue: q, dependsOn: [bad] });
    const lenient = await queue.enqueue('after', {}, { queue: q, dependsOn: [bad], onDependencyFailure: 'continue' });
    const ran: string[] = [];
    await drainAll({ bad: () => { throw new Error('boom'); }, after: async (_p, ctx: JobContext) => { ran.push(ctx.job.id); return (await ctx.dependencies())[0]!.status; } }, q);
    expect(ran).toEqual([lenient]);
    expect(await queue.getJob(strict)).toMatchObject({ status: 'failed', error: expect.stringContaining(bad) });
    expect(await queue.getJob(lenient)).toMatchObject({ status: 'completed', result: 'failed', dependencies: { failed: 1, firstFailedId: bad } });
  });
});

describe('enqueueParent (fan-in)', () => {
  it('runs the parent once, after the last of 200 children, with all 200 results', async () => {
    const q = 'fan-200';
    const { id, childIds } = await queue.enqueueParent(
      'merge',
      { month: 11 },
      Array.from({ length: 200 }, (_, i) => ({ type: 'page', payload: { i } })),
      { queue: q, idempotencyKey: 'fan-200' },
    );
    expect(childIds).toHaveLength(200);
    expect(await queue.getJob(id)).toMatchObject({ status: 'waiting', dependencies: { kind: 'children', total: 200, left: 200, incomplete: false } });
    expect((await queue.getJob(childIds[7]!))!).toMatchObject({ parentId: id, dependents: [id], status: 'pending' });

    const parentRuns: Array<{ at: number; results: unknown[] }> = [];
    const childEnds: number[] = [];
    await drainAll(
      {
        page: async (p: { i: number }) => {
          childEnds.push(Date.now());
          return p.i * 2;
        },
        merge: async (_p, ctx: JobContext) => {
          const deps = await ctx.dependencies();
          parentRuns.push({ at: Date.now(), results: deps.map((d) => d?.result) });
          return deps.length;
        },
      },
      q,
      16,
    );
    expect(parentRuns).toHaveLength(1);
    expect(parentRuns[0]!.results).toEqual(Array.from({ length: 200 }, (_, i) => i * 2));
    expect(parentRuns[0]!.at).toBeGreaterThanOrEqual(Math.max(...childEnds));
    expect(await queue.getJob(id)).toMatchObject({ status: 'completed', result: 200, dependencies: { left: 0, done: 200, failed: 0 } });
    // The parent item stays small: counters only, no list of children.
    expect(Object.keys(await rawItem(id))).not.toContain('dependents');
    expect(JSON.stringify(await rawItem(id)).length).toBeLessThan(1_500);
  }, 120_000);

  it("fails the parent without running it when a child fails (policy fail), cancelling the children still pending", async () => {
    const q = 'fan-fail';
    const { id, childIds } = await queue.enqueueParent('merge', {}, [
      { type: 'bad', payload: {}, options: { maxAttempts: 1, priority: 20 } },
      { type: 'slow', payload: {}, options: { priority: 0, delayMs: 60_000 } },
      { type: 'ok', payload: {}, options: { priority: 10 } },
    ], { queue: q });
    let parentRan = false;
    await drainAll({ bad: () => { throw new Error('child broke'); }, ok: () => 'fine', merge: () => { parentRan = true; } }, q, 1);
    expect(parentRan).toBe(false);
    const parent = (await queue.getJob(id))!;
    expect(parent.status).toBe('failed');
    expect(parent.error).toContain(childIds[0]!);
    expect(parent.dependencies).toMatchObject({ failed: 1, firstFailedId: childIds[0], onFailure: 'fail' });
    expect((await queue.getJob(childIds[1]!))!.status).toBe('cancelled');
    expect((await queue.getJob(childIds[2]!))!.status).toBe('completed');
    expect(new DependencyFailedError(id, childIds[0]!, 'children')).toBeInstanceOf(DependencyFailedError);
    // Retried by hand (after redriving the child), the parent runs with its children as they are.
    expect(await queue.retryJob(childIds[0]!)).toBe(true);
    expect(await queue.retryJob(id)).toBe(true);
    let seen: unknown[] = [];
    await drainAll({ bad: () => 'fixed', ok: () => 'fine', merge: async (_p, ctx: JobContext) => (seen = (await ctx.dependencies()).map((d) => d?.status)) }, q, 1);
    expect(seen).toEqual(['completed', 'cancelled', 'completed']);
    expect(await queue.getJob(id)).toMatchObject({ status: 'completed', error: expect.stringContaining(childIds[0]!), dependencies: { onFailure: 'fail', failed: 1, done: 1, left: 1 } }); // the child cancelled with the parent is not counted in it
  });

  it("runs the parent with the failure visible when a child fails (policy continue)", async () => {
    const q = 'fan-continue';
    const { id } = await queue.enqueueParent('merge', {}, [
      { type: 'bad', payload: {}, options: { maxAttempts: 1 } },
      { type: 'ok', payload: {} },
    ], { queue: q, onChildFailure: 'continue' });
    let statuses: unknown[] = [];
    await drainAll({ bad: () => { throw new Error('child broke'); }, ok: () => 'fine', merge: async (_p, ctx: JobContext) => { statuses = (await ctx.dependencies()).map((d) => [d?.status, d?.result ?? d?.error]); return 'merged'; } }, q);
    expect(statuses).toEqual([['failed', 'child broke'], ['completed', 'fine']]);
    expect(await queue.getJob(id)).toMatchObject({ status: 'completed', result: 'merged', dependencies: { done: 1, failed: 1, left: 0 } });
  });

  it('cancelling a parent cancels its pending children; a second call finishes an interrupted one', async () => {
    const q = 'fan-cancel';
    const { id, childIds } = await queue.enqueueParent('merge', {}, Array.from({ length: 40 }, (_, i) => ({ type: 'c', payload: { i } })), { queue: q });
    // Interrupted: the parent got cancelled but its children did not (as if the caller died at once).
    const { cancelSeen } = await import('../../lib/store/cancel-job.ts');
    expect(await cancelSeen(queue.store, await rawItem(id))).toBe(true);
    expect((await queue.getJob(childIds[0]!))!.status).toBe('pending');
    expect(await queue.cancelJob(id)).toBe(false); // the parent was cancelled already; its children now are
    const statuses = await Promise.all(childIds.map(async (c) => (await queue.getJob(c))!.status));
    expect(new Set(statuses)).toEqual(new Set(['cancelled']));
    expect((await queue.processJobs({ c: () => 1, merge: () => 1 }, { queue: q })).claimed).toBe(0);

    const second = await queue.enqueueParent('merge', {}, [{ type: 'c', payload: {} }, { type: 'c', payload: {} }], { queue: q });
    expect(await queue.cancelJob(second.id)).toBe(true);
    expect((await queue.getJob(second.childIds[1]!))!.status).toBe('cancelled');
    expect((await queue.getJob(second.id))!.status).toBe('cancelled');
  });
});
