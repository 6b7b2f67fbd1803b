/**
 * The dashboard in a real headless Chromium (Debian `chromium`, driven by playwright-core)
 * against a running local stack: load it, enqueue from the form and see the job complete, cancel
 * a delayed job, retry a failed one, page through a list, use it from the keyboard. Elements are
 * found by their accessible roles and labels, so the test also checks that those exist. A
 * screenshot is kept at test-results/dashboard.png. If Chromium cannot start, the test fails.
 */
import { mkdirSync } from 'node:fs';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/ddb.ts';
import { http, startTestStack } from './stack.ts';
import type { TestStack } from './stack.ts';

const CHROMIUM = '/usr/bin/chromium';
let t: TestStack;
let browser: Browser;
let page: Page;
const api = (method: string, path: string, body?: unknown) => http(t.stack.url, method, path, body);

/** Fills and submits the enqueue form; returns the new job's id from the confirmation. */
async function enqueueFromForm(type: string, payload: string, fields: { delay?: string; priority?: string; maxAttempts?: string } = {}): Promise<string> {
  await page.getByLabel('Type').selectOption(type);
  await page.getByLabel('Payload (JSON)').fill(payload);
  await page.getByLabel('Delay (ms)').fill(fields.delay ?? '');
  await page.getByLabel('Priority').fill(fields.priority ?? '');
  await page.getByLabel('Max attempts').fill(fields.maxAttempts ?? '');
  await page.getByRole('button', { name: 'Enqueue' }).click();
  const message = page.locator('#enqueue-message');
  await expect.poll(() => message.textContent(), { timeout: 10_000 }).toMatch(new RegExp(`Enqueued ${type} job [0-9a-f-]{36}`));
  const id = /job ([0-9a-f-]{36})/.exec((await message.textContent())!)![1]!;
  await expect.poll(() => page.locator('#d-id').textContent(), { timeout: 10_000 }).toBe(id);
  return id;
}

const detailStatus = () => page.locator('#d-status').textContent();

beforeAll(async () => {
  t = await startTestStack({ pollIntervalMs: 200 });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
});
afterAll(async () => {
  await browser?.close();
  await t?.cleanup();
});

describe('dashboard in headless Chromium', () => {
  it('loads with the counts, the registry types and live refresh', async () => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await page.goto(`${t.stack.url}/`);
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('jobtable');
    await expect.poll(() => page.locator('#count-pending').textContent(), { timeout: 10_000 }).toMatch(/^\d+$/);
    await expect.poll(() => page.locator('#table-name').textContent()).toBe(t.stack.tableName);
    const types = await page.getByLabel('Type').locator('option').allTextContents();
    expect(types).toEqual(['send_email', 'generate_report', 'flaky', 'noop']);
    // Live refresh: a job enqueued behind the page's back shows up in the counts.
    const before = Number(await page.locator('#count-pending').textContent());
    await api('POST', '/jobs', { type: 'noop', payload: {}, delayMs: 3_600_000 });
    await expect.poll(async () => Number(await page.locator('#count-pending').textContent()), { timeout: 10_000 }).toBe(before + 1);
    await expect.poll(() => page.getByRole('status').first().textContent(), { timeout: 10_000 }).toContain('pending');
    expect(errors).toEqual([]);
  });

  it('enqueues from the form and shows the job complete, with its progress and result', async () => {
    const id = await enqueueFromForm('generate_report', '{"reportType": "weekly", "steps": 3, "stepMs": 150}', { priority: '20' });
    await expect.poll(detailStatus, { timeout: 20_000 }).toBe('completed');
    expect(await page.locator('#d-progress-text').textContent()).toBe('3 / 3 – step 3 of 3');
    expect(await page.locator('#d-result').textContent()).toContain(`weekly-${id}.pdf`);
    expect(await page.locator('#d-priority').textContent()).toBe('20');
    expect(await page.locator('#d-attempts').textContent()).toBe('1 of 3');
    expect(await page.getByRole('button', { name: 'Cancel', exact: true }).isDisabled()).toBe(true);
    const job = (await api('GET', `/jobs/${id}`)).json;
    expect(job).toMatchObject({ status: 'completed', priority: 20, payload: { reportType: 'weekly', steps: 3 } });
  });

  it('shows a form error for a payload that is not JSON and writes nothing', async () => {
    const before = await t.itemCount();
    await page.getByLabel('Payload (JSON)').fill('{not json');
    await page.getByRole('button', { name: 'Enqueue' }).click();
    await expect.poll(() => page.locator('#enqueue-message').textContent()).toContain('Payload is not valid JSON');
    expect(await page.getByLabel('Payload (JSON)').getAttribute('aria-invalid')).toBe('true');
    await page.getByLabel('Payload (JSON)').fill('{}');
    await page.getByLabel('Priority').fill('5000');
    await page.getByRole('button', { name: 'Enqueue' }).click();
    await expect.poll(() => page.locator('#enqueue-message').textContent()).toContain('priority');
    await page.getByLabel('Priority').fill('');
    expect(await t.itemCount()).toBe(before);
  });

  it('cancels a delayed job', async () => {
    const id = await enqueueFromForm('noop', '{}', { delay: '600000' });
    await expect.poll(detailStatus).toBe('pending');
    await page.getByRole('button', { name: 'Cancel', exact: true }).click();
    await expect.poll(() => page.locator('#action-message').textContent()).toBe(`Cancelled job ${id}.`);
    await expect.poll(detailStatus).toBe('cancelled');
    expect((await api('GET', `/jobs/${id}`)).json.status).toBe('cancelled');
    expect(await page.getByRole('button', { name: 'Retry', exact: true }).isEnabled()).toBe(true);
  });

  it('retries a failed job, which runs again', async () => {
    const id = await enqueueFromForm('flaky', '{"failTimes": 5}', { maxAttempts: '1' });
    await expect.poll(detailStatus, { timeout: 20_000 }).toBe('failed');
    expect(await page.locator('#d-error').textContent()).toContain('simulated upstream failure');
    const failed = (await api('GET', `/jobs/${id}`)).json;
    await page.getByRole('button', { name: 'Retry', exact: true }).click();
    await expect.poll(() => page.locator('#action-message').textContent()).toContain(`Retried job ${id}`);
    // The redriven job was claimed and run again (flaky fails again on its new first attempt).
    const rerun = await waitFor(async () => {
      const j = (await api('GET', `/jobs/${id}`)).json;
      return Date.parse(j.startedAt) > Date.parse(failed.finishedAt) && j.status === 'failed' ? j : null;
    }, 20_000);
    expect(rerun.attempts).toBe(1);
    await expect.poll(detailStatus, { timeout: 10_000 }).toBe('failed');
  });

  it('pages through a status list and opens a job from the keyboard', async () => {
    for (let i = 0; i < 25; i++) await api('POST', '/jobs', { type: 'noop', payload: { i }, delayMs: 3_600_000 });
    await page.getByRole('button', { name: /pending$/ }).click();
    const rows = page.locator('#job-rows tr');
    await expect.poll(() => rows.count(), { timeout: 10_000 }).toBe(20);
    const firstPage = await rows.locator('button').first().getAttribute('aria-label');
    await page.getByRole('button', { name: 'Next page' }).click();
    await expect.poll(() => page.locator('#page-label').textContent()).toBe('Page 2');
    await expect.poll(() => rows.count(), { timeout: 10_000 }).toBe(6); // 26 pending in all
    expect(await rows.locator('button').first().getAttribute('aria-label')).not.toBe(firstPage);
    await page.getByRole('button', { name: 'First page' }).click();
    await expect.poll(() => page.locator('#page-label').textContent()).toBe('Page 1');

    // Keyboard: focus a job's button and press Enter; the detail heading takes the focus.
    const jobButton = rows.locator('button').nth(2);
    const label = (await jobButton.getAttribute('aria-label'))!;
    await jobButton.focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('#d-id').textContent()).toBe(/Show job (\S+)/.exec(label)![1]);
    await expect.poll(() => page.evaluate('document.activeElement && document.activeElement.id')).toBe('detail-heading');

    mkdirSync('test-results', { recursive: true });
    await page.screenshot({ path: 'test-results/dashboard.png', fullPage: true });
  });
});
