/**
 * The local HTTP API over real HTTP, against a running local stack (workers with the job
 * registry) on DynamoDB Local: every route, and every bad request writing nothing.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/ddb.ts';
import { JobQueue } from '../../lib/queue.ts';
import { http, startTestStack } from './stack.ts';
import type { TestStack } from './stack.ts';

let t: TestStack;
let base: string;
const api = (method: string, path: string, body?: unknown, headers?: Record<string, string>) => http(base, method, path, body, headers);
const jobStatus = async (id: string) => (await api('GET', `/jobs/${id}`)).json?.status;

beforeAll(async () => {
  // paging and nostatus hold only jobs delayed by an hour, so their workers leave them pending.
  t = await startTestStack({ queues: ['default', 'paging', 'nostatus'] });
  base = t.stack.url;
});
afterAll(async () => t?.cleanup());

describe('POST /jobs and GET /jobs/:id', () => {
  it('enqueues a job (201 { id }) that the stack runs to completion', async () => {
    const res = await api('POST', '/jobs', { type: 'send_email', payload: { to: 'a@example.com', subject: 'Hi' }, priority: 20 });
    expect(res.status).toBe(201);
    expect(res.json).toEqual({ id: expect.any(String) });
    expect(res.headers.get('location')).toBe(`/jobs/${res.json.id}`);
    const job = await waitFor(async () => {
      const r = await api('GET', `/jobs/${res.json.id}`);
      return r.json?.status === 'completed' ? r.json : null;
    });
    expect(job).toMatchObject({ id: res.json.id, type: 'send_email', priority: 20, attempts: 1, result: { to: 'a@example.com' } });
    expect(Date.parse(job.finishedAt)).toBeGreaterThan(0);
  });

  it('returns the same id for the same idempotency key and writes one job', async () => {
    const before = await t.itemCount();
    const a = await api('POST', '/jobs', { type: 'noop', payload: {}, idempotencyKey: 'order-42' });
    const b = await api('POST', '/jobs', { type: 'noop', payload: {}, idempotencyKey: 'order-42' });
    expect(a.status).toBe(201);
    expect(b.json.id).toBe(a.json.id);
    expect(await t.itemCount()).toBe(before + 1);
  });

  it('404s an unknown job and 400s a malformed id', async () => {
    const missing = await api('GET', '/jobs/00000000-0000-7000-8000-000000000000');
    expect(missing.status).toBe(404);
    expect(missing.json).toMatchObject({ code: 'NOT_FOUND', id: '00000000-0000-7000-8000-000000000000' });
    const bad = await api('GET', '/jobs/not%20an%20id');
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ name: 'ValidationError', field: 'id' });
  });
});

describe('bad requests get a typed error naming the field, and write nothing', () => {
  const big = 'x'.repeat(600 * 1024);
  const cases: [string, string, string, unknown, number, string][] = [
    ['invalid JSON', 'POST', '/jobs', '{"type": "noop",', 400, 'body'],
    ['an empty body', 'POST', '/jobs', '', 400, 'body'],
    ['an array body', 'POST', '/jobs', [{ type: 'noop', payload: {} }], 400, 'body'],
    ['a missing type', 'POST', '/jobs', { payload: {} }, 400, 'type'],
    ['a bad type name', 'POST', '/jobs', { type: 'no spaces!', payload: {} }, 400, 'type'],
    ['a missing payload', 'POST', '/jobs', { type: 'noop' }, 400, 'payload'],
    ['an unknown field', 'POST', '/jobs', { type: 'noop', payload: {}, prio: 3 }, 400, 'prio'],
    ['a priority out of range', 'POST', '/jobs', { type: 'noop', payload: {}, priority: 5000 }, 400, 'priority'],
    ['a non-integer maxAttempts', 'POST', '/jobs', { type: 'noop', payload: {}, maxAttempts: 1.5 }, 400, 'maxAttempts'],
    ['a negative delay', 'POST', '/jobs', { type: 'noop', payload: {}, delayMs: -1 }, 400, 'delayMs'],
    ['delayMs with runAt', 'POST', '/jobs', { type: 'noop', payload: {}, delayMs: 5, runAt: '2030-01-01T00:00:00Z' }, 400, 'delayMs'],
    ['a bad runAt', 'POST', '/jobs', { type: 'noop', payload: {}, runAt: 'tomorrow' }, 400, 'runAt'],
    ['a bad queue', 'POST', '/jobs', { type: 'noop', payload: {}, queue: '' }, 400, 'queue'],
    ['an empty idempotency key', 'POST', '/jobs', { type: 'noop', payload: {}, idempotencyKey: '' }, 400, 'idempotencyKey'],
    ['a body over 512 KiB', 'POST', '/jobs', { type: 'noop', payload: { big } }, 413, 'body'],
    ['a payload too big for one item', 'POST', '/jobs', { type: 'noop', payload: { big: big.slice(0, 450 * 1024) } }, 413, 'payload'],
    ['a list with a bad status', 'GET', '/jobs?status=done', undefined, 400, 'status'],
    ['a list limit of 0', 'GET', '/jobs?status=pending&limit=0', undefined, 400, 'limit'],
    ['a list limit that is not a number', 'GET', '/jobs?status=pending&limit=ten', undefined, 400, 'limit'],
    ['a forged cursor', 'GET', '/jobs?status=pending&cursor=abc', undefined, 400, 'cursor'],
    ['an unknown list parameter', 'GET', '/jobs?status=pending&sort=asc', undefined, 400, 'sort'],
    ['stats of a bad queue', 'GET', '/stats?queue=a%20b', undefined, 400, 'queue'],
    ['cancel with a bad id', 'POST', '/jobs/bad%20id/cancel', undefined, 400, 'id'],
    ['retry with a bad id', 'POST', '/jobs/bad%20id/retry', undefined, 400, 'id'],
  ];
  it.each(cases)('%s', async (_name, method, path, body, status, field) => {
    const before = await t.itemCount();
    const res = await api(method, path, body);
    expect(res.status).toBe(status);
    expect(res.json).toMatchObject({ name: expect.stringMatching(/ValidationError|InvalidCursorError|PayloadTooLargeError/), code: 'VALIDATION', field });
    expect(res.json.message).toEqual(expect.any(String));
    expect(await t.itemCount()).toBe(before);
  });

  it('413s a chunked body over the limit without a content-length', async () => {
    const before = await t.itemCount();
    const url = new URL(`${base}/jobs`);
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({ host: url.hostname, port: url.port, path: '/jobs', method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.write('{"type":"noop","payload":"');
      for (let i = 0; i < 9; i++) req.write('y'.repeat(64 * 1024));
      req.end('"}');
    });
    expect(status).toBe(413);
    expect(await t.itemCount()).toBe(before);
  });

  it('404s unknown routes and 405s wrong methods (with Allow)', async () => {
    const unknown = await api('GET', '/nope');
    expect(unknown.status).toBe(404);
    expect(unknown.json).toMatchObject({ code: 'NOT_FOUND', path: '/nope' });
    const before = await t.itemCount();
    const wrong = await api('DELETE', '/jobs');
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('POST, GET');
    expect((await api('PUT', '/stats')).status).toBe(405);
    expect((await api('GET', '/jobs/abc/cancel')).status).toBe(405);
    expect(await t.itemCount()).toBe(before);
  });
});

describe('cancel and retry', () => {
  it('cancels a delayed job once (200), then 409s; 404s an unknown job', async () => {
    const { json } = await api('POST', '/jobs', { type: 'noop', payload: {}, delayMs: 60_000 });
    const first = await api('POST', `/jobs/${json.id}/cancel`);
    expect(first.status).toBe(200);
    expect(first.json).toMatchObject({ id: json.id, cancelled: true, job: { status: 'cancelled' } });
    const again = await api('POST', `/jobs/${json.id}/cancel`);
    expect(again.status).toBe(409);
    expect(again.json).toMatchObject({ code: 'CONFLICT', cancelled: false, status: 'cancelled' });
    expect((await api('POST', '/jobs/00000000-0000-7000-8000-000000000000/cancel')).status).toBe(404);
  });

  it('retries a failed job: it runs again (attempts reset), and a completed job cannot be retried', async () => {
    const { json } = await api('POST', '/jobs', { type: 'flaky', payload: { failTimes: 5 }, maxAttempts: 1 });
    await waitFor(async () => (await jobStatus(json.id)) === 'failed');
    const failed = (await api('GET', `/jobs/${json.id}`)).json;
    expect(failed).toMatchObject({ attempts: 1, error: expect.stringContaining('simulated upstream failure') });

    const retried = await api('POST', `/jobs/${json.id}/retry`);
    expect(retried.status).toBe(200);
    expect(retried.json).toMatchObject({ id: json.id, retried: true });
    expect(['pending', 'processing', 'failed']).toContain(retried.json.job.status);
    // It ran again: a new attempt started after the first one finished.
    const rerun = await waitFor(async () => {
      const j = (await api('GET', `/jobs/${json.id}`)).json;
      return j.status === 'failed' && Date.parse(j.startedAt) > Date.parse(failed.finishedAt) ? j : null;
    });
    expect(rerun.attempts).toBe(1);

    const done = await api('POST', '/jobs', { type: 'noop', payload: {} });
    await waitFor(async () => (await jobStatus(done.json.id)) === 'completed');
    const refused = await api('POST', `/jobs/${done.json.id}/retry`);
    expect(refused.status).toBe(409);
    expect(refused.json).toMatchObject({ code: 'CONFLICT', retried: false, status: 'completed' });
  });
});

describe('GET /jobs and GET /stats', () => {
  it('lists by status a page at a time with a cursor, without repeats', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await api('POST', '/jobs', { type: 'noop', payload: { i }, queue: 'paging', delayMs: 3_600_000 })).json.id);
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const res = await api('GET', `/jobs?status=pending&queue=paging&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(res.status).toBe(200);
      expect(res.json.jobs.length).toBeLessThanOrEqual(2);
      seen.push(...res.json.jobs.map((j: { id: string }) => j.id));
      cursor = res.json.cursor;
      pages++;
    } while (cursor && pages < 10);
    expect(seen.sort()).toEqual([...ids].sort());
    expect(pages).toBeGreaterThanOrEqual(3);
  });

  it('lists pending jobs when no status is given, as the README and the CLI say', async () => {
    const id = (await api('POST', '/jobs', { type: 'noop', payload: {}, queue: 'nostatus', delayMs: 3_600_000 })).json.id;
    const res = await api('GET', '/jobs?queue=nostatus');
    expect(res.status).toBe(200);
    expect(res.json.jobs.map((j: { id: string; status: string }) => [j.id, j.status])).toEqual([[id, 'pending']]);
  });

  it('counts by status and reports the oldest due job', async () => {
    // Due jobs of a queue no local worker serves (the stack itself refuses them): written by
    // another producer straight to the table.
    const producer = new JobQueue({ tableName: t.stack.tableName, client: t.stack.client, shardCount: 4 });
    await producer.enqueue('noop', {}, { queue: 'idle', runAt: new Date(Date.now() - 120_000) });
    await producer.enqueue('noop', {}, { queue: 'idle' });
    const res = await api('GET', '/stats?queue=idle');
    expect(res.status).toBe(200);
    expect(res.json.counts).toEqual({ waiting: 0, pending: 2, processing: 0, completed: 0, failed: 0, cancelled: 0 });
    expect(res.json.oldestDueAgeMs).toBeGreaterThanOrEqual(120_000);
    const def = (await api('GET', '/stats')).json;
    expect(def.queue).toBe('default');
    expect(def.counts.completed).toBeGreaterThanOrEqual(2);
  });
});

describe('dashboard assets', () => {
  it('serves the page with a strict content security policy, its script and stylesheet, and /meta', async () => {
    const page = await api('GET', '/');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page.text).toContain('<script src="/dashboard.js"');
    expect((await api('GET', '/dashboard.js')).headers.get('content-type')).toContain('javascript');
    expect((await api('GET', '/dashboard.css')).headers.get('content-type')).toContain('text/css');
    const meta = await api('GET', '/meta');
    expect(meta.json).toMatchObject({ tableName: t.stack.tableName, jobTypes: ['send_email', 'generate_report', 'flaky', 'noop'], readOnly: false, refreshMs: 2000 });
    expect(meta.json.queues).toContain('default');
  });
});
