/**
 * Bulk actions by group over the HTTP API (`POST /jobs/bulk` with `group`, what the dashboard's
 * "Cancel all ... in group" and "Retry all ... in group" post), against DynamoDB Local: a cancel
 * by filter with a group cancels only that group's pending jobs, a retry by filter with a group
 * puts back only that group's dead letters, and a malformed group (or a group beside ids) is
 * refused with 400 naming the field, nothing written.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PermanentJobError } from '../../lib/index.ts';
import type { JobQueue } from '../../lib/index.ts';
import { serveApi } from '../helpers/api-server.ts';
import type { ServedApi } from '../helpers/api-server.ts';
import { freshQueue } from '../helpers/ddb.ts';
import { tableSnapshot } from '../e2e/dashboard-server.ts';

let queue: JobQueue;
let cleanup: () => Promise<void>;
let api: ServedApi;

beforeAll(async () => {
  ({ queue, cleanup } = await freshQueue({ shardCount: 4 }));
  api = await serveApi({ queue, jobTypes: ['sync'] });
});
afterAll(async () => {
  await api.close();
  await cleanup();
});

async function bulk(body: Record<string, unknown>): Promise<{ status: number; body: Record<string, any> }> {
  const res = await fetch(`${api.base}/jobs/bulk`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

/** Enqueues `n` jobs of `group` (none if undefined) in `queueName`, delayed unless `due`. */
function enqueue(n: number, queueName: string, group: string | undefined, due = false): Promise<string[]> {
  const options = { queue: queueName, maxAttempts: 1, ...(due ? {} : { delayMs: 3_600_000 }), ...(group !== undefined ? { group } : {}) };
  return queue.enqueueMany(Array.from({ length: n }, (_, i) => ({ type: 'sync', payload: { i }, options })));
}

const statusOf = async (ids: readonly string[]) => Promise.all(ids.map(async (id) => (await queue.getJob(id))!.status));

describe('bulk actions by group', () => {
  it('cancels by filter only the pending jobs of the group', async () => {
    const acme = await enqueue(3, 'tenants', 'acme');
    const others = [...(await enqueue(2, 'tenants', 'globex')), ...(await enqueue(2, 'tenants', undefined))];
    const dry = await bulk({ action: 'cancel', queue: 'tenants', group: 'acme', dryRun: true });
    expect(dry.body).toMatchObject({ status: 'pending', dryRun: true, matched: 3, cancelled: 0, complete: true });
    const run = await bulk({ action: 'cancel', queue: 'tenants', group: 'acme' });
    expect(run.status).toBe(200);
    expect(run.body).toMatchObject({ matched: 3, cancelled: 3, skipped: 0, complete: true });
    expect(await statusOf(acme)).toEqual(['cancelled', 'cancelled', 'cancelled']);
    expect(await statusOf(others)).toEqual(['pending', 'pending', 'pending', 'pending']);
  });

  it('retries by filter only the dead letters of the group', async () => {
    const acme = await enqueue(2, 'dead', 'acme', true);
    const others = [...(await enqueue(2, 'dead', 'globex', true)), ...(await enqueue(1, 'dead', undefined, true))];
    await queue.processJobs({ sync: () => Promise.reject(new PermanentJobError('boom')) }, { queue: 'dead' });
    const run = await bulk({ action: 'retry', queue: 'dead', group: 'acme' });
    expect(run.status).toBe(200);
    expect(run.body).toMatchObject({ status: 'failed', examined: 5, matched: 2, redriven: 2, complete: true });
    expect(await statusOf(acme)).toEqual(['pending', 'pending']);
    expect(await statusOf(others)).toEqual(['failed', 'failed', 'failed']);
  });

  it('refuses a malformed group, and a group beside ids, with 400 naming the field; nothing is written', async () => {
    await enqueue(2, 'refused', 'acme');
    const before = await tableSnapshot(queue.store.client, queue.tableName);
    for (const action of ['cancel', 'retry']) {
      for (const group of ['no spaces', '', 'x'.repeat(129), 42, 'a#b']) {
        const res = await bulk({ action, queue: 'refused', group });
        expect(res.status).toBe(400);
        expect(res.body).toMatchObject({ name: 'ValidationError', field: 'group', limit: expect.stringMatching(/1 to 128 characters/) });
      }
    }
    const withIds = await bulk({ action: 'cancel', ids: ['a'], group: 'acme' });
    expect(withIds.status).toBe(400);
    expect(withIds.body).toMatchObject({ field: 'group', limit: 'only with queue (a filter)' });
    expect(await tableSnapshot(queue.store.client, queue.tableName)).toBe(before);
  });
});
