/**
 * Features that do not combine are refused with a typed error naming the field, nothing written:
 * dependencies (dependsOn, parents, children) with debounce or with FIFO groups, and a dependsOn
 * naming a job of a FIFO group (its outcome counts no dependents, so the dependent would wait
 * forever). Group limits and dependencies do combine: a released parent still honours its group's
 * concurrency.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobQueue, ValidationError } from '../../lib/index.ts';
import { dropTable, freshTable, testClient } from '../helpers/ddb.ts';

let client: DynamoDBClient;
let tableName: string;
let queue: JobQueue;

beforeAll(async () => {
  client = testClient();
  tableName = await freshTable(client, 'combos');
  queue = new JobQueue({ tableName, client, shardCount: 2, limits: { orders: { group: { fifo: true } }, tenants: { group: { concurrency: 1 } } } });
});
afterAll(async () => {
  await dropTable(client, tableName);
  client.destroy();
});

async function nothingWritten(q: string): Promise<void> {
  for (const status of ['pending', 'waiting'] as const) expect((await queue.listJobs({ status, queue: q })).jobs).toEqual([]);
}

describe('feature combinations', () => {
  it('refuses dependsOn with debounce, and with a group of a FIFO queue', async () => {
    const dep = await queue.enqueue('a', {}, { queue: 'plain' });
    const debounced = await queue.enqueue('b', {}, { queue: 'plain2', dependsOn: [dep], debounce: { key: 'k', windowMs: 1000 } }).catch((e: unknown) => e);
    expect(debounced).toBeInstanceOf(ValidationError);
    expect(debounced).toMatchObject({ field: 'options.debounce' });
    await nothingWritten('plain2');
    const fifo = await queue.enqueue('b', {}, { queue: 'orders', group: 'g1', dependsOn: [dep] }).catch((e: unknown) => e);
    expect(fifo).toBeInstanceOf(ValidationError);
    expect(fifo).toMatchObject({ field: 'options.group' });
    await nothingWritten('orders');
  });

  it('refuses a child in a FIFO group and a debounced parent, nothing written', async () => {
    const child = await queue.enqueueParent('p', {}, [{ type: 'c', payload: {}, options: { queue: 'orders', group: 'g2' } }], { queue: 'plain3' }).catch((e: unknown) => e);
    expect(child).toBeInstanceOf(ValidationError);
    expect(child).toMatchObject({ field: 'children[0].options.group' });
    const parent = await queue.enqueueParent('p', {}, [{ type: 'c', payload: {} }], { queue: 'plain3', debounce: { key: 'k', windowMs: 1000 } }).catch((e: unknown) => e);
    expect(parent).toBeInstanceOf(ValidationError);
    expect(parent).toMatchObject({ field: 'options.debounce' });
    await nothingWritten('plain3');
    await nothingWritten('orders');
  });

  it('refuses dependsOn naming a pending job of a FIFO group', async () => {
    const head = await queue.enqueue('f', {}, { queue: 'orders', group: 'g3' });
    const err = await queue.enqueue('after', {}, { queue: 'plain4', dependsOn: [head] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect(err).toMatchObject({ field: 'options.dependsOn[0]' });
    await nothingWritten('plain4');
  });

  it('a fan-in under a group concurrency limit: children and parent of one group run one at a time, the parent last', async () => {
    const children = Array.from({ length: 6 }, (_, i) => ({ type: 'child', payload: { i }, options: { group: 't1' } }));
    const { id } = await queue.enqueueParent('parent', {}, children, { queue: 'tenants', group: 't1' });
    let running = 0;
    let most = 0;
    const order: string[] = [];
    const run = async (name: string) => {
      running++;
      most = Math.max(most, running);
      order.push(name);
      await new Promise((r) => setTimeout(r, 20));
      running--;
      return name;
    };
    for (let round = 0; round < 20 && (await queue.getJob(id))?.status !== 'completed'; round++) {
      await queue.processJobs({ child: () => run('child'), parent: () => run('parent') }, { queue: 'tenants', concurrency: 8 });
    }
    expect((await queue.getJob(id))?.status).toBe('completed');
    expect(most).toBe(1);
    expect(order).toEqual([...Array(6).fill('child'), 'parent']);
  });
});
