/**
 * Fan-in under faults, against DynamoDB Local: a child finishing twice (a stale worker whose lease
 * was taken over, and a resend of a transaction that had landed) is counted once; a worker dying
 * right after the last child's transaction, or before it, never leaves the parent waiting; an
 * enqueue of 1,000 children failing halfway is completed by the same call again; a job registering
 * on a running dependency is counted by that dependency's outcome.
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobQueue } from '../../lib/index.ts';
import { tryClaim } from '../../lib/store/claim-job.ts';
import type { Claim } from '../../lib/store/claim-job.ts';
import { completeNotifying, failNotifying } from '../../lib/store/outcome-with-dependents.ts';
import type { Candidate } from '../../lib/store/query-due.ts';
import { decodeRunOrder } from '../../lib/schema.ts';
import { idempotentJobId } from '../../lib/model/codec.ts';
import { dropTable, freshTable, testClient } from '../helpers/ddb.ts';
import { addFaultRule } from './helpers/faults.ts';

let client: DynamoDBClient;
let tableName: string;
let queue: JobQueue;
/** Added to the real time: moves the queue's clock past leases. */
let offset = 0;

beforeAll(async () => {
  client = testClient();
  tableName = await freshTable(client, 'deps-faults');
  queue = new JobQueue({ tableName, client, shardCount: 2, clock: { now: () => Date.now() + offset } });
});
afterAll(async () => {
  await dropTable(client, tableName);
  client.destroy();
});

async function rawItem(id: string) {
  return (await client.send(new GetItemCommand({ TableName: tableName, Key: { id: { S: id } }, ConsistentRead: true }))).Item!;
}

/** Claims job `id` as worker `workerId`, as a drain would after reading it from the index. */
async function claim(id: string, workerId: string): Promise<Claim> {
  const item = await rawItem(id);
  const runOrder = item.run_order!.S!;
  const candidate: Candidate = {
    id,
    shard: Number(item.status_shard!.S!.split('#').pop()),
    runOrder,
    priority: decodeRunOrder(runOrder)!.priority,
    runAtMs: decodeRunOrder(runOrder)!.runAtMs,
    status: item.status!.S as Candidate['status'],
    leaseUntilMs: item.lease_until ? Date.parse(item.lease_until.S!) : null,
    timeoutMs: Number(item.timeout_ms!.N),
  };
  const got = await tryClaim(queue.store, candidate, workerId, 0);
  if (!got.claim) throw new Error(`${workerId} could not claim ${id}`);
  return got.claim;
}

const left = async (parentId: string) => Number((await rawItem(parentId)).deps_left!.N);

describe('a child finishing twice is counted once', () => {
  it('a stale worker (its lease taken over) neither completes nor fails the child, nor counts it', async () => {
    const q = 'stale';
    const { id, childIds } = await queue.enqueueParent('merge', {}, [{ type: 'c', payload: {}, options: { timeoutMs: 1_000 } }, { type: 'c', payload: {} }], { queue: q });
    const a = await claim(childIds[0]!, 'worker-a');
    offset += 5_000; // worker-a's lease runs out; worker-b takes the child over
    const b = await claim(childIds[0]!, 'worker-b');
    expect(await completeNotifying(queue.store, b, 'from-b')).toBe(true);
    expect(await left(id)).toBe(1);
    expect(await completeNotifying(queue.store, a, 'from-a')).toBe(false);
    expect(await failNotifying(queue.store, a, 'late failure')).toBe(false);
    expect(await left(id)).toBe(1);
    expect(await queue.getJob(childIds[0]!)).toMatchObject({ status: 'completed', result: 'from-b', dependentsNotified: true });
    expect(await queue.getJob(id)).toMatchObject({ status: 'waiting', dependencies: { done: 1, failed: 0, left: 1 } });
  });

  it('a resend of the counting transaction whose answer was lost counts once, and releases the parent once', async () => {
    const q = 'resend';
    const { id, childIds } = await queue.enqueueParent('merge', {}, [{ type: 'c', payload: {} }], { queue: q });
    const c = await claim(childIds[0]!, 'worker-a');
    // Every SDK attempt of the next transaction is applied by DynamoDB, then its answer is lost.
    const rule = addFaultRule(client, { match: (command) => command === 'TransactWriteItemsCommand', mode: 'after', times: 3 });
    const writeId = 'resent-write';
    try {
      expect(await completeNotifying(queue.store, c, 'once', { writeId })).toBe(true);
      // The worker's own resend (the same outcome, the same write id) recognises it too.
      expect(await completeNotifying(queue.store, c, 'once', { writeId })).toBe(true);
    } finally {
      rule.hits = Infinity; // no more faults from this rule
    }
    expect(rule.seen.length).toBeGreaterThanOrEqual(2);
    const parent = await rawItem(id);
    expect(Number(parent.deps_left!.N)).toBe(0);
    expect(parent.status!.S).toBe('pending');
    let runs = 0;
    await queue.processJobs({ merge: () => ++runs }, { queue: q });
    expect(runs).toBe(1);
  });
});

describe('a worker dies around the counting transaction', () => {
  it('right after it landed (never told): the parent is released already, no second write is needed', async () => {
    const q = 'dies-after';
    const { id, childIds } = await queue.enqueueParent('merge', {}, [{ type: 'c', payload: {} }, { type: 'c', payload: {} }], { queue: q });
    expect(await completeNotifying(queue.store, await claim(childIds[0]!, 'w1'), 1)).toBe(true);
    // The releasing transaction (the last child's count with the parent's move to pending) is
    // applied, and the worker never learns it: every answer is lost until it gives up (dies).
    const releases = (command: string, input: { TransactItems?: Array<{ Update?: { ExpressionAttributeValues?: Record<string, unknown> } }> }) =>
      command === 'TransactWriteItemsCommand' && !!input.TransactItems?.some((t) => t.Update?.ExpressionAttributeValues?.[':due_shard']);
    const rule = addFaultRule(client, { match: releases, mode: 'after', times: 1_000 });
    const died = await completeNotifying(queue.store, await claim(childIds[1]!, 'w2'), 2, {}, Date.now() + offset + 300).catch((e: Error) => e);
    rule.hits = Infinity;
    expect(died).toBeInstanceOf(Error);
    expect(rule.seen.length).toBeGreaterThanOrEqual(1);
    expect(await queue.getJob(id)).toMatchObject({ status: 'pending', dependencies: { left: 0, done: 2 } });
    let results: unknown[] = [];
    await queue.processJobs({ merge: async (_p, ctx) => (results = (await ctx.dependencies()).map((d) => d?.result)) }, { queue: q });
    expect(results).toEqual([1, 2]);
  });

  it('before it landed: the child is run again when its lease runs out, and then releases the parent', async () => {
    const q = 'dies-before';
    const { id, childIds } = await queue.enqueueParent('merge', {}, [{ type: 'c', payload: {}, options: { timeoutMs: 1_000 } }], { queue: q });
    const rule = addFaultRule(client, { match: (command) => command === 'TransactWriteItemsCommand', mode: 'before', times: 1_000 });
    const died = await completeNotifying(queue.store, await claim(childIds[0]!, 'w1'), 'lost', {}, Date.now() + offset).catch((e: Error) => e);
    rule.hits = Infinity;
    expect(died).toBeInstanceOf(Error);
    expect(await queue.getJob(id)).toMatchObject({ status: 'waiting', dependencies: { left: 1 } });
    offset += 5_000;
    const ran: string[] = [];
    for (let i = 0; i < 3; i++) await queue.processJobs({ c: () => (ran.push('c'), 'again'), merge: () => ran.push('merge') }, { queue: q });
    expect(ran).toEqual(['c', 'merge']);
    expect(await queue.getJob(childIds[0]!)).toMatchObject({ status: 'completed', result: 'again', attempts: 2 });
  });
});

describe('an enqueue of 1,000 children that fails halfway', () => {
  it('leaves a waiting parent marked incomplete; the same call again completes it without duplicating or resetting a child', async () => {
    const q = 'half-written';
    let refuse = false;
    let childPuts = 0;
    const c = testClient();
    // DynamoDB refuses every child put after the 500th (a 400: nothing written, not resent).
    c.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as { Item?: Record<string, unknown> };
        if (context.commandName === 'PutItemCommand' && input.Item?.parent_id && refuse && ++childPuts > 500) {
          throw Object.assign(new Error('injected: refused'), { name: 'ValidationException', $fault: 'client', $metadata: { httpStatusCode: 400 } });
        }
        return next(args);
      },
      { step: 'initialize', name: 'refuseLaterChildren' },
    );
    const producer = new JobQueue({ tableName, client: c, shardCount: 2 });
    const children = Array.from({ length: 1_000 }, (_, i) => ({ type: 'c', payload: { i } }));
    refuse = true;
    const err = await producer.enqueueParent('merge', {}, children, { queue: q, idempotencyKey: 'half' }).catch((e) => e);
    refuse = false;
    expect(err.name).toBe('EnqueueError');
    expect(err.written).toHaveLength(500);
    expect(err.notWritten).toHaveLength(500);
    const parentId = idempotentJobId(q, 'half');
    expect(err.message).toContain(`Parent ${parentId} written; 500 of 1000 children written`);
    expect((await queue.getJob(err.written[0]))!.parentId).toBe(parentId);
    expect(await queue.getJob(parentId)).toMatchObject({ status: 'waiting', dependencies: { total: 1_000, left: 1_000, incomplete: true } });
    // The children written run meanwhile, and count; the parent cannot run before the others exist.
    await queue.processJobs({ c: (p: { i: number }) => p.i }, { queue: q, concurrency: 16 });
    expect(await queue.getJob(parentId)).toMatchObject({ status: 'waiting', dependencies: { done: 500, left: 500 } });

    const again = await producer.enqueueParent('merge', {}, children, { queue: q, idempotencyKey: 'half' });
    expect(again.id).toBe(parentId);
    expect(await queue.getJob(parentId)).toMatchObject({ status: 'waiting', dependencies: { left: 500, incomplete: false } });
    expect((await queue.getJob(err.written[0]))!.status).toBe('completed'); // found, not reset
    let results: unknown[] = [];
    for (let i = 0; i < 5; i++) {
      await queue.processJobs({ c: (p: { i: number }) => p.i, merge: async (_p, ctx) => (results = (await ctx.dependencies()).map((d) => d?.result)) }, { queue: q, concurrency: 16 });
    }
    expect(results).toEqual(Array.from({ length: 1_000 }, (_, i) => i));
    expect((await queue.stats({ queue: q })).counts).toMatchObject({ completed: 1_001, pending: 0, waiting: 0 });
    c.destroy();
  }, 300_000);
});

describe('registering on a running dependency', () => {
  it('is counted by the outcome of the attempt that was running when it registered', async () => {
    const q = 'late-register';
    const dep = await queue.enqueue('dep', {}, { queue: q });
    const running = await claim(dep, 'w1'); // claimed with no dependents
    const waiter = await queue.enqueue('after', {}, { queue: q, dependsOn: [dep] });
    expect((await queue.getJob(dep))!.dependents).toEqual([waiter]);
    expect(await completeNotifying(queue.store, running, 'done')).toBe(true);
    expect(await queue.getJob(waiter)).toMatchObject({ status: 'pending', dependencies: { left: 0, done: 1 } });
  });
});
