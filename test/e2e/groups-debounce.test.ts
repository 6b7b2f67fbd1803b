/**
 * Issue 12's debounce and FIFO groups on the surfaces, against a local stack whose queue `orders`
 * is FIFO per group: `POST /jobs` with `debounce` and `group`, `GET /fifo`, and the CLI's
 * `--group`, `--debounce-key` and `--debounce-window` (the built binary, as a user runs it), and the
 * dashboard's job detail (group, debounce key, FIFO position and who holds the group) in Chromium.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/ddb.ts';
import { runCli } from './cli-runner.ts';
import { launchChromium, watchedPage } from './browser.ts';
import { http, startTestStack } from './stack.ts';
import type { TestStack } from './stack.ts';

let t: TestStack;
let base: string;
const api = (method: string, path: string, body?: unknown) => http(base, method, path, body);
const cli = (args: string[]) => runCli(t.dataDir, args);

beforeAll(async () => {
  t = await startTestStack({ queues: ['default', 'orders'], limits: { orders: { group: { fifo: true } } } });
  base = t.stack.url;
});
afterAll(async () => t?.cleanup());

describe('debounce and FIFO groups over HTTP', () => {
  it('POST /jobs with debounce merges into one pending job with the last payload, due a window after the last', async () => {
    const a = await api('POST', '/jobs', { type: 'noop', payload: { n: 1 }, debounce: { key: 'doc-1', windowMs: 60_000 } });
    const before = Date.now();
    const b = await api('POST', '/jobs', { type: 'noop', payload: { n: 2 }, debounce: { key: 'doc-1', windowMs: 60_000 } });
    expect(a.status).toBe(201);
    expect(b.json.id).toBe(a.json.id);
    const job = (await api('GET', `/jobs/${a.json.id}`)).json;
    expect(job).toMatchObject({ status: 'pending', payload: { n: 2 }, debounceKey: 'doc-1', attempts: 0 });
    expect(Date.parse(job.runAt)).toBeGreaterThanOrEqual(before + 60_000);
  });

  it('POST /jobs with a group in a FIFO queue numbers the jobs, GET /fifo shows the group', async () => {
    const ids: string[] = [];
    for (let n = 0; n < 3; n++) ids.push((await api('POST', '/jobs', { type: 'noop', payload: { n }, queue: 'orders', group: 'customer-7' })).json.id);
    const jobs = await Promise.all(ids.map(async (id) => (await api('GET', `/jobs/${id}`)).json));
    expect(jobs.map((j) => [j.group, j.fifoSeq])).toEqual([['customer-7', 1], ['customer-7', 2], ['customer-7', 3]]);
    await waitFor(async () => (await api('GET', `/jobs/${ids[2]}`)).json?.status === 'completed');
    const group = await api('GET', '/fifo?queue=orders&group=customer-7');
    expect(group.json).toEqual({ queue: 'orders', group: 'customer-7', last: 3, head: null, headJobId: null, behind: 0 });
  });

  it('refuses a bad group or debounce with 400 naming the field, and writes nothing', async () => {
    const before = await t.itemCount();
    const badGroup = await api('POST', '/jobs', { type: 'noop', payload: {}, queue: 'orders', group: 'a b' });
    expect(badGroup.status).toBe(400);
    expect(badGroup.json).toMatchObject({ name: 'ValidationError', field: 'group' });
    const badWindow = await api('POST', '/jobs', { type: 'noop', payload: {}, debounce: { key: 'k', windowMs: 0 } });
    expect(badWindow.json).toMatchObject({ name: 'ValidationError', field: 'debounce.windowMs' });
    const both = await api('POST', '/jobs', { type: 'noop', payload: {}, queue: 'orders', group: 'g', debounce: { key: 'k', windowMs: 10 } });
    expect(both.json).toMatchObject({ name: 'ValidationError', field: 'debounce' });
    expect((await api('GET', '/fifo?queue=orders&group=a%20b')).json).toMatchObject({ field: 'group' });
    expect(await t.itemCount()).toBe(before);
  });
});

describe('debounce and FIFO groups in the CLI', () => {
  it('enqueue --group puts the job in its FIFO group; --debounce-key/--debounce-window merge', async () => {
    const first = await cli(['enqueue', 'noop', '{"n":1}', '-q', 'orders', '--group', 'cli-g', '--json']);
    expect(first.code).toBe(0);
    const id = JSON.parse(first.stdout).id as string;
    expect((await api('GET', `/jobs/${id}`)).json).toMatchObject({ group: 'cli-g', fifoSeq: 1, queue: 'orders' });

    const d1 = await cli(['enqueue', 'noop', '{"n":1}', '--debounce-key', 'cli-k', '--debounce-window', '30s', '--json']);
    const d2 = await cli(['enqueue', 'noop', '{"n":2}', '--debounce-key', 'cli-k', '--debounce-window', '30s', '--json']);
    expect(JSON.parse(d2.stdout).id).toBe(JSON.parse(d1.stdout).id);
    expect((await api('GET', `/jobs/${JSON.parse(d1.stdout).id}`)).json).toMatchObject({ payload: { n: 2 }, debounceKey: 'cli-k', status: 'pending' });

    const half = await cli(['enqueue', 'noop', '{}', '--debounce-key', 'cli-k', '--json']);
    expect(half.code).toBe(2);
    expect(JSON.parse(half.stderr).error).toMatchObject({ field: 'options.debounce.windowMs' });
  });
});

describe('debounce and FIFO groups in the dashboard', () => {
  it("shows a job's group, debounce key, FIFO position and who holds its group", async () => {
    const head = (await api('POST', '/jobs', { type: 'noop', payload: {}, queue: 'orders', group: 'dash', delayMs: 3_600_000 })).json.id as string;
    const behind = (await api('POST', '/jobs', { type: 'noop', payload: {}, queue: 'orders', group: 'dash' })).json.id as string;
    const debounced = (await api('POST', '/jobs', { type: 'noop', payload: {}, debounce: { key: 'dash-k', windowMs: 3_600_000 } })).json.id as string;
    const browser = await launchChromium();
    try {
      const errors: string[] = [];
      const page = await watchedPage(browser, errors);
      await page.goto(`${base}/?queue=orders&job=${behind}`);
      await expect.poll(() => page.locator('#d-fifo').textContent(), { timeout: 10_000 }).toBe(`position 2 of 2; waiting: position 1 holds the group (job ${head})`);
      expect(await page.locator('#d-group').textContent()).toBe('dash');
      await page.goto(`${base}/?queue=orders&job=${head}`);
      await expect.poll(() => page.locator('#d-fifo').textContent(), { timeout: 10_000 }).toBe('position 1 of 2; this job holds the group (1 waiting behind it)');
      await page.goto(`${base}/?queue=default&job=${debounced}`);
      await expect.poll(() => page.locator('#d-debounce').textContent(), { timeout: 10_000 }).toBe('dash-k');
      expect(await page.locator('#d-fifo').textContent()).toBe('–');
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
