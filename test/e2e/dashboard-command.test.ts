/**
 * `jobtable dashboard` against a table other than the local stack's: a second DynamoDB Local
 * table made like the deployed one (same definition, NEW_IMAGE stream), served by the real binary
 * on 127.0.0.1. Read-write: queues with bounded counts (delayed apart from waiting), activity from
 * the stream, search by id and idempotency key, type filter, bulk actions with a dry run.
 * Read-only: every write route answers 403 and the table is unchanged, byte for byte.
 */
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobQueue, PermanentJobError, ReadOnlyError } from '../../lib/index.ts';
import { apiRoutes } from '../../lib/local/http-api.ts';
import { guardReadOnly } from '../../lib/local/read-only.ts';
import { dropTable, testClient, waitFor } from '../helpers/ddb.ts';
import { createStandInTable, startDashboard, tableSnapshot } from './dashboard-server.ts';
import type { DashboardProcess } from './dashboard-server.ts';
import { http } from './stack.ts';

const client = testClient();
let tableName: string;
let queue: JobQueue;
const ids: Record<string, string> = {};

/** Jobs in every state, in two queues; `bulk` has no worker at all. */
async function seed(): Promise<void> {
  ids.retrying = await queue.enqueue('send_email', { to: 'a@example.com' }, { backoff: { baseMs: 600_000 } });
  ids.delayed = await queue.enqueue('send_email', { to: 'b@example.com' }, { delayMs: 3_600_000 });
  ids.keyed = await queue.enqueue('report', { n: 1 }, { delayMs: 3_600_000, idempotencyKey: 'order-42' });
  ids.cancelled = await queue.enqueue('report', { n: 2 }, { delayMs: 3_600_000 });
  await queue.cancelJob(ids.cancelled);
  for (let i = 0; i < 3; i++) await queue.enqueue('bulk_job', { i }, { queue: 'bulk', delayMs: 3_600_000 });
  // Run what is due now: one completes, two fail for good.
  ids.ok = await queue.enqueue('ok', {});
  ids.bad1 = await queue.enqueue('bad', { n: 1 }, { maxAttempts: 1 });
  ids.bad2 = await queue.enqueue('bad', { n: 2 }, { maxAttempts: 1 });
  await queue.processJobs({
    send_email: () => {
      throw new Error('mail server down');
    },
    ok: () => ({ fine: true }),
    bad: () => {
      throw new PermanentJobError('broken payload');
    },
  }, { waitForDueWithinMs: 0 });
  // The first send_email failed an attempt and waits ten minutes or so for its retry (delayed).
  ids.waiting = await queue.enqueue('send_email', { to: 'c@example.com' }, { priority: 5 });
}

beforeAll(async () => {
  tableName = await createStandInTable(client);
  queue = new JobQueue({ tableName, client });
  await seed();
});
afterAll(async () => {
  await dropTable(client, tableName);
  client.destroy();
});

describe('jobtable dashboard --table (read-write)', () => {
  let d: DashboardProcess;
  const api = (method: string, path: string, body?: unknown) => http(d.url, method, path, body);
  beforeAll(async () => {
    d = await startDashboard(tableName);
  });
  afterAll(async () => {
    expect(await d?.stop()).toBe(0);
  });

  it('binds to 127.0.0.1 and serves the page and /meta', async () => {
    expect(d.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await api('GET', '/')).text).toContain('<script src="/dashboard.js"');
    expect((await api('GET', '/vendor/uplot.js')).text).toContain('uPlot');
    expect((await api('GET', '/meta')).json).toMatchObject({ tableName, jobTypes: [], readOnly: false, refreshMs: 5000 });
  });

  it('lists every queue that has jobs, with delayed apart from waiting, and reports the read units', async () => {
    const res = await api('GET', '/queues');
    expect(res.status).toBe(200);
    const byName = Object.fromEntries(res.json.queues.map((q: { queue: string }) => [q.queue, q]));
    expect(Object.keys(byName)).toEqual(['default', 'bulk']);
    expect(byName.default).toMatchObject({ waiting: 1, delayed: 3, processing: 0, failed: 2, cancelled: 1 });
    expect(byName.bulk).toMatchObject({ waiting: 0, delayed: 3, failed: 0 });
    expect(res.json.discovery).toMatchObject({ complete: true });
    expect(res.json.readUnits).toBeGreaterThan(0);
  });

  it('charts the last hour from the table stream, by type', async () => {
    const activity = await waitFor(async () => {
      const a = (await api('GET', '/activity?queue=default')).json;
      return a.byType.length >= 3 ? a : null;
    }, 20_000, 250);
    expect(activity).toMatchObject({ source: 'the table stream', available: true });
    expect(activity.minutes).toHaveLength(60);
    const byType = Object.fromEntries(activity.byType.map((t: { type: string }) => [t.type, t]));
    expect(byType.ok).toMatchObject({ completed: 1, failed: 0 });
    expect(byType.bad).toMatchObject({ completed: 0, failed: 2 });
    expect(byType.send_email).toMatchObject({ retried: 1 });
    const total = activity.minutes.reduce((a: number, m: { completed: number; failed: number }) => a + m.completed + m.failed, 0);
    expect(total).toBe(3);
  });

  it('finds a job by id and by idempotency key', async () => {
    const byId = (await api('GET', `/find?q=${ids.ok}`)).json.matches;
    expect(byId.map((m: any) => [m.how, m.job.id])).toEqual([['id', ids.ok]]);
    const byKey = (await api('GET', '/find?q=order-42&queue=default')).json.matches;
    expect(byKey.map((m: any) => [m.how, m.job.id])).toEqual([['idempotencyKey', ids.keyed]]);
    expect((await api('GET', '/find?q=nothing-like-this')).json.matches).toEqual([]);
  });

  it('filters a list by type', async () => {
    const res = await api('GET', '/jobs?status=pending&type=report');
    expect(res.json.jobs.map((j: { id: string }) => j.id)).toEqual([ids.keyed]);
  });

  it('bulk-retries failed jobs by filter (a redrive) after a dry run that counts them', async () => {
    const dry = await api('POST', '/jobs/bulk', { action: 'retry', queue: 'default', type: 'bad', errorContains: 'broken', dryRun: true });
    expect(dry.json).toMatchObject({ action: 'retry', status: 'failed', dryRun: true, count: 2, matched: 2, redriven: 0, complete: true, more: false });
    expect((await queue.getJob(ids.bad1))!.status).toBe('failed');
    const none = await api('POST', '/jobs/bulk', { action: 'retry', queue: 'default', type: 'bad', errorContains: 'something else' });
    expect(none.json).toMatchObject({ matched: 0, redriven: 0, complete: true });
    const run = await api('POST', '/jobs/bulk', { action: 'retry', queue: 'default', type: 'bad', errorContains: 'broken' });
    expect(run.json).toMatchObject({ dryRun: false, matched: 2, redriven: 2, skipped: 0, complete: true });
    expect((await queue.getJob(ids.bad1))!.status).toBe('pending');
    expect((await queue.getJob(ids.bad2))!.status).toBe('pending');
    const badField = await api('POST', '/jobs/bulk', { action: 'cancel', queue: 'default', errorContains: 'x' });
    expect(badField.status).toBe(400);
    expect(badField.json).toMatchObject({ field: 'errorContains' });
    const badRange = await api('POST', '/jobs/bulk', { action: 'retry', queue: 'default', finishedAfter: 'soon' });
    expect(badRange.json).toMatchObject({ field: 'finishedAfter' });
    const again = await api('POST', '/jobs/bulk', { action: 'cancel', ids: [ids.bad1, ids.ok] });
    expect(again.json).toMatchObject({ count: 2, done: 1, skipped: [ids.ok] });
    const bad = await api('POST', '/jobs/bulk', { action: 'delete', ids: [ids.ok] });
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ field: 'action' });
  });
});

describe('jobtable dashboard --read-only', () => {
  let d: DashboardProcess;
  beforeAll(async () => {
    d = await startDashboard(tableName, ['--read-only']);
  });
  afterAll(async () => {
    await d?.stop();
  });

  it('refuses every write route with 403 READ_ONLY and leaves the table unchanged', async () => {
    const before = await tableSnapshot(client, tableName);
    const routes = apiRoutes({ queue, jobTypes: [] });
    const tried: string[] = [];
    for (const r of routes) {
      const path = r.path.replace(':id', ids.delayed!);
      for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
        const body = r.path === '/jobs' ? { type: 'noop', payload: {} } : r.path === '/jobs/bulk' ? { action: 'cancel', queue: 'default' } : r.path === '/jobs/parent' ? { type: 'noop', payload: {}, children: [{ type: 'noop', payload: {} }] } : {};
        const res = await http(d.url, method, path, body);
        expect(res.status, `${method} ${path}`).toBe(403);
        expect(res.json).toMatchObject({ code: 'READ_ONLY' });
        tried.push(`${method} ${r.path}`);
      }
    }
    // The write routes the read-write API has are among those tried.
    const writes = routes.flatMap((r) => Object.keys(r.methods).filter((m) => m !== 'GET').map((m) => `${m} ${r.path}`));
    expect(writes.sort()).toEqual(['POST /jobs', 'POST /jobs/:id/cancel', 'POST /jobs/:id/retry', 'POST /jobs/bulk', 'POST /jobs/parent']);
    for (const w of writes) expect(tried).toContain(w);
    expect(await tableSnapshot(client, tableName)).toBe(before);
  });

  it('still serves every read, and says it is read-only', async () => {
    expect((await http(d.url, 'GET', '/meta')).json.readOnly).toBe(true);
    expect((await http(d.url, 'GET', '/queues')).status).toBe(200);
    expect((await http(d.url, 'GET', `/jobs/${ids.delayed}`)).json.status).toBe('pending');
    expect((await http(d.url, 'GET', '/jobs?status=failed')).status).toBe(200);
  });

  it('guards the DynamoDB client too: a write is refused before it is sent', async () => {
    const guarded = guardReadOnly(testClient());
    const before = await tableSnapshot(client, tableName);
    await expect(guarded.send(new PutItemCommand({ TableName: tableName, Item: { id: { S: 'intruder' } } }))).rejects.toBeInstanceOf(ReadOnlyError);
    await expect(new JobQueue({ tableName, client: guarded }).cancelJob(ids.delayed!)).rejects.toThrow('Read-only: DynamoDB UpdateItem is refused');
    expect(await tableSnapshot(client, tableName)).toBe(before);
    guarded.destroy();
  });
});
