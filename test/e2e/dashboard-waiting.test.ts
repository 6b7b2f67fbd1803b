/**
 * Waiting jobs in the dashboard (headless Chromium against a running local stack), and in the HTTP
 * API: a job enqueued with `dependsOn` and a parent enqueued with `POST /jobs/parent` are listed
 * under "waiting" with what they wait for, counted, shown in the detail, and cancelled from it
 * (the parent's children too).
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, watchedPage } from './browser.ts';
import { http, startTestStack } from './stack.ts';
import type { TestStack } from './stack.ts';

let t: TestStack;
let browser: Browser;
let page: Page;
const errors: string[] = [];
const api = (method: string, path: string, body?: unknown) => http(t.stack.url, method, path, body);

beforeAll(async () => {
  t = await startTestStack({ pollIntervalMs: 200, queues: ['default'] });
  browser = await launchChromium();
  page = await watchedPage(browser, errors);
});
afterAll(async () => {
  await browser?.close();
  await t?.cleanup();
});

describe('waiting jobs', () => {
  it('are enqueued over HTTP, listed, counted, shown and cancelled in the dashboard', async () => {
    const later = (await api('POST', '/jobs', { type: 'noop', payload: {}, delayMs: 3_600_000 })).json.id as string;
    const dependent = await api('POST', '/jobs', { type: 'noop', payload: {}, dependsOn: [later] });
    expect(dependent.status).toBe(201);
    const parent = await api('POST', '/jobs/parent', { type: 'noop', payload: {}, onChildFailure: 'continue', children: [{ type: 'noop', payload: {}, delayMs: 3_600_000 }, { type: 'noop', payload: {}, delayMs: 3_600_000 }] });
    expect(parent.status).toBe(201);
    expect(parent.json.childIds).toHaveLength(2);
    const bad = await api('POST', '/jobs', { type: 'noop', payload: {}, dependsOn: ['no-such-job'] });
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ name: 'ValidationError', field: 'dependsOn', message: expect.stringContaining('no job no-such-job') });
    expect((await api('GET', `/jobs/${parent.json.id}`)).json).toMatchObject({ status: 'waiting', dependencies: { kind: 'children', total: 2, left: 2, onFailure: 'continue' } });
    expect((await api('GET', '/jobs?status=waiting')).json.jobs.map((j: { id: string }) => j.id).sort()).toEqual([dependent.json.id, parent.json.id].sort());

    await page.goto(`${t.stack.url}/?status=waiting`);
    await expect.poll(() => page.locator('#count-waiting').textContent(), { timeout: 10_000 }).toBe('2');
    await expect.poll(() => page.locator('#job-rows tr').count(), { timeout: 10_000 }).toBe(2);
    expect(await page.locator('#job-rows').textContent()).toContain('2 of 2 children left');
    expect(await page.locator('#job-rows').textContent()).toContain('1 of 1 jobs left');
    await page.locator(`#job-rows tr[data-job-id="${parent.json.id}"]`).click();
    await expect.poll(() => page.locator('#d-status').textContent(), { timeout: 10_000 }).toBe('waiting');
    expect(await page.locator('#d-waits').textContent()).toBe('2 of 2 children left; on failure: continue');
    await page.getByRole('button', { name: 'Cancel', exact: true }).click();
    await expect.poll(() => page.locator('#action-message').textContent()).toBe(`Cancelled job ${parent.json.id}.`);
    await expect.poll(() => page.locator('#d-status').textContent()).toBe('cancelled');
    for (const child of parent.json.childIds as string[]) expect((await api('GET', `/jobs/${child}`)).json.status).toBe('cancelled');
    await page.locator(`#job-rows tr[data-job-id="${dependent.json.id}"]`).click();
    await expect.poll(() => page.locator('#d-id').textContent()).toBe(dependent.json.id);
    expect(await page.locator('#d-parent').textContent()).toBe('–');
    expect(errors).toEqual([]);
  });
});
