/**
 * Groups and flow-control limits on every local surface, against a running local stack whose
 * queue has a per-group concurrency limit of 1: `POST /jobs` with a group, `GET /jobs?group=`,
 * `GET /limits`, and the dashboard in a real headless Chromium (the job's group in its view, running
 * / limit per group, jobs waiting on a limit). Jobs hold their slot until the test lets them go.
 * Then the group as a filter in the dashboard: the "Filter by group" field (kept in the URL), the
 * Limits panel's group rows and the job detail's group linking to it, cancel by filter with a
 * group, and the enqueue form's Group field.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobQueue } from '../../lib/queue.ts';
import { confirmDialog, launchChromium, watchedPage } from './browser.ts';
import { http, startTestStack } from './stack.ts';
import type { TestStack } from './stack.ts';

let t: TestStack;
let browser: Browser;
let page: Page;
const errors: string[] = [];
const running = new Set<string>();
let release!: () => void;
const released = new Promise<void>((r) => (release = r));
const api = (method: string, path: string, body?: unknown) => http(t.stack.url, method, path, body);
const rowIds = async () => (await page.locator('#job-rows tr').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-job-id') ?? ''))).sort();
/** The browser logs each 400 it was meant to get: takes those entries out of `errors` (there must be one). */
function takeLoggedBadRequests(): void {
  const bad = 'Failed to load resource: the server responded with a status of 400 (Bad Request)';
  expect(errors).toContain(bad);
  errors.splice(0, errors.length, ...errors.filter((e) => e !== bad));
}
const statusOf = async (id: string) => (await api('GET', `/jobs/${id}`)).json.status as string;

beforeAll(async () => {
  t = await startTestStack({
    handlers: {
      hold: async (_p: unknown, ctx: { job: { id: string } }) => {
        running.add(ctx.job.id);
        await released;
      },
    },
    limits: { default: { group: { concurrency: 1 } } },
  });
  browser = await launchChromium();
  page = await watchedPage(browser, errors);
});
afterAll(async () => {
  release();
  await browser?.close();
  await t?.cleanup();
});

describe('groups and limits on the local surfaces', () => {
  const ids: Record<string, string[]> = { acme: [], globex: [] };

  it('POST /jobs takes a group (a malformed one is refused, naming the field); GET /jobs filters by it', async () => {
    for (const group of ['acme', 'acme', 'acme', 'globex']) {
      const res = await api('POST', '/jobs', { type: 'hold', payload: {}, group });
      expect(res.status).toBe(201);
      ids[group]!.push(res.json.id as string);
    }
    const bad = await api('POST', '/jobs', { type: 'hold', payload: {}, group: 'no spaces' });
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ name: 'ValidationError', field: 'group' }); // the body is flat: options are its fields
    // One job of each group runs; the other two of acme wait for its slot.
    await expect.poll(() => running.size, { timeout: 15_000 }).toBe(2);
    await new Promise((r) => setTimeout(r, 500));
    expect(running.size).toBe(2);
    const acme = await api('GET', '/jobs?status=pending&group=acme');
    expect((acme.json.jobs as Array<{ id: string; group: string }>).map((j) => j.group)).toEqual(['acme', 'acme']);
    const globex = await api('GET', '/jobs?status=processing&group=globex');
    expect((globex.json.jobs as Array<{ id: string }>).map((j) => j.id)).toEqual(ids.globex);
  });

  it('GET /limits: running / limit per group and the jobs waiting on a limit', async () => {
    const view = (await api('GET', '/limits?queue=default')).json;
    expect(view.limits).toEqual({ group: { concurrency: 1 } });
    expect(view.groups).toEqual([
      { group: 'acme', running: 1, limit: 1, due: 2, waitingOnLimit: 2 },
      { group: 'globex', running: 1, limit: 1, due: 0, waitingOnLimit: 0 },
    ]);
    expect(view.waitingOnLimit).toBe(2);
  });

  it('the dashboard shows running / limit per group, what waits on a limit, and the group of a job', async () => {
    await page.goto(`${t.stack.url}/?queue=default&status=processing`);
    const limits = page.getByRole('region', { name: /Limits in/ });
    await expect.poll(() => limits.isVisible(), { timeout: 10_000 }).toBe(true);
    await expect.poll(() => page.locator('#limits-summary').textContent(), { timeout: 10_000 }).toContain('2 due jobs wait on a limit');
    expect(await page.locator('#limits-summary').textContent()).toContain('at most 1 running per group');
    const table = page.getByRole('table', { name: 'Running and waiting by group' });
    const rows = await table.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    expect(rows).toEqual([
      ['acme', '1 / 1', '2', '2'],
      ['globex', '1 / 1', '0', '0'],
    ]);
    await page.goto(`${t.stack.url}/?queue=default&status=pending&job=${ids.acme[2]}`);
    await expect.poll(() => page.locator('#d-group').textContent(), { timeout: 10_000 }).toBe('acme');
  });

  // A queue no worker of the stack serves, so its jobs stay pending: two groups and a job without one.
  const tenants: Record<'acme' | 'globex' | 'none', string[]> = { acme: [], globex: [], none: [] };

  it('filters the job list by group with the "Filter by group" field, kept in the URL; a malformed group is marked', async () => {
    const producer = new JobQueue({ tableName: t.stack.tableName, client: t.stack.client, shardCount: 4 });
    for (const group of ['acme', 'globex', 'none', 'acme', 'globex'] as const) {
      tenants[group].push(await producer.enqueue('hold', {}, { queue: 'tenants', delayMs: 3_600_000, ...(group !== 'none' ? { group } : {}) }));
    }
    await page.goto(`${t.stack.url}/?queue=tenants&status=pending`);
    await expect.poll(rowIds, { timeout: 10_000 }).toEqual([...tenants.acme, ...tenants.globex, ...tenants.none].sort());
    const field = page.getByLabel('Filter by group');
    await field.fill('acme');
    await field.press('Enter');
    await expect.poll(rowIds, { timeout: 10_000 }).toEqual([...tenants.acme].sort());
    expect(new URL(page.url()).searchParams.get('group')).toBe('acme');
    await page.reload(); // the URL is the view
    await expect.poll(rowIds, { timeout: 10_000 }).toEqual([...tenants.acme].sort());
    expect(await field.inputValue()).toBe('acme');
    await field.fill('no spaces');
    await field.press('Enter');
    await expect.poll(() => page.locator('#search-message').textContent(), { timeout: 10_000 }).toMatch(/^Filter by group: Invalid group: "no spaces" has characters outside/);
    expect(await field.getAttribute('aria-invalid')).toBe('true');
    expect(await rowIds()).toEqual([]);
    await field.fill('');
    await field.press('Enter');
    await expect.poll(rowIds, { timeout: 10_000 }).toHaveLength(5);
    expect(await field.getAttribute('aria-invalid')).toBeNull();
    takeLoggedBadRequests();
  });

  it('a group row of the Limits panel, and the group in the job detail, filter the list by that group', async () => {
    await page.goto(`${t.stack.url}/?queue=tenants&status=pending`);
    await expect.poll(rowIds, { timeout: 10_000 }).toHaveLength(5);
    const table = page.getByRole('table', { name: 'Running and waiting by group' });
    await table.getByRole('button', { name: 'Show the jobs of group globex' }).click();
    await expect.poll(rowIds, { timeout: 10_000 }).toEqual([...tenants.globex].sort());
    expect(await page.getByLabel('Filter by group').inputValue()).toBe('globex');
    expect(new URL(page.url()).searchParams.get('group')).toBe('globex');
    await page.goto(`${t.stack.url}/?queue=tenants&status=pending&job=${tenants.acme[0]}`);
    await expect.poll(rowIds, { timeout: 10_000 }).toHaveLength(5);
    await page.locator('#d-group').getByRole('button', { name: 'Show the jobs of group acme' }).click();
    await expect.poll(rowIds, { timeout: 10_000 }).toEqual([...tenants.acme].sort());
  });

  it('cancels by filter with a group: only that group\'s pending jobs, the button and the confirmation naming the group', async () => {
    await page.goto(`${t.stack.url}/?queue=tenants&status=pending&group=acme`);
    await expect.poll(rowIds, { timeout: 10_000 }).toEqual([...tenants.acme].sort());
    await page.getByRole('button', { name: 'Cancel all pending jobs in group acme' }).click();
    await confirmDialog(page, 'Cancel 2 jobs?', 'Cancel every pending job in group acme: 2 jobs in queue tenants.', 'Cancelled 2 jobs.');
    for (const id of tenants.acme) expect(await statusOf(id)).toBe('cancelled');
    for (const id of [...tenants.globex, ...tenants.none]) expect(await statusOf(id)).toBe('pending');
  });

  it('enqueues from the form with a group and shows it on the job; a malformed group is refused, naming the field', async () => {
    await page.goto(`${t.stack.url}/?queue=default&status=pending`);
    await expect.poll(() => page.getByLabel('Type', { exact: true }).locator('option').count(), { timeout: 10_000 }).toBe(1);
    await page.getByLabel('Delay (ms)').fill('3600000'); // stays pending: the last test counts the completed jobs
    const group = page.getByLabel('Group (optional)');
    await group.fill('no spaces');
    const before = await t.itemCount();
    await page.getByRole('button', { name: 'Enqueue' }).click();
    await expect.poll(() => page.locator('#enqueue-message').textContent(), { timeout: 10_000 }).toMatch(/^group: Invalid group: "no spaces"/);
    expect(await group.getAttribute('aria-invalid')).toBe('true');
    expect(await t.itemCount()).toBe(before);
    takeLoggedBadRequests();
    await group.fill('initech');
    await page.getByRole('button', { name: 'Enqueue' }).click();
    await expect.poll(() => page.locator('#enqueue-message').textContent(), { timeout: 10_000 }).toMatch(/^Enqueued hold job /);
    const id = /job ([0-9a-f-]{36})/.exec((await page.locator('#enqueue-message').textContent())!)![1]!;
    await expect.poll(() => page.locator('#d-group').textContent(), { timeout: 10_000 }).toBe('initech');
    expect((await api('GET', `/jobs/${id}`)).json).toMatchObject({ group: 'initech', status: 'pending' });
  });

  it('everything completes once the running jobs end; no console error', async () => {
    release();
    await expect.poll(async () => (await api('GET', '/jobs?status=completed')).json.jobs.length, { timeout: 20_000 }).toBe(4);
    expect(errors).toEqual([]);
  });
});
