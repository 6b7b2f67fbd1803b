/**
 * Groups and flow-control limits on every local surface, against a running local stack whose
 * queue has a per-group concurrency limit of 1: `POST /jobs` with a group, `GET /jobs?group=`,
 * `GET /limits`, and the dashboard in a real headless Chromium (the job's group in its view, running
 * / limit per group, jobs waiting on a limit). Jobs hold their slot until the test lets them go.
 */
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, startTestStack } from './stack.ts';
import type { TestStack } from './stack.ts';

const CHROMIUM = '/usr/bin/chromium';
let t: TestStack;
let browser: Browser;
let page: Page;
const errors: string[] = [];
const running = new Set<string>();
let release!: () => void;
const released = new Promise<void>((r) => (release = r));
const api = (method: string, path: string, body?: unknown) => http(t.stack.url, method, path, body);

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
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
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

  it('everything completes once the running jobs end; no console error', async () => {
    release();
    await expect.poll(async () => (await api('GET', '/jobs?status=completed')).json.jobs.length, { timeout: 20_000 }).toBe(4);
    expect(errors).toEqual([]);
  });
});
