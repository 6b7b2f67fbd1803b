/**
 * Regenerates the dashboard screenshots in docs/: `dashboard.png` (1280 px wide, the README's) and
 * `dashboard-narrow.png` (400 px). A throwaway in-memory stack with two queues and jobs in every
 * state, an hour of activity from its own workers, a retried-then-completed job open in the detail.
 * Not a test; run `npx tsx test/e2e/docs-screenshot.ts`.
 */
import { launchChromium } from './browser.ts';
import type { Page } from 'playwright-core';
import { handlers } from '../../functions/jobs/index.ts';
import { startLocalStack } from '../../lib/local/stack.ts';

const stack = await startLocalStack({ handlers, port: 0, inMemory: true, dataDir: 'test-results/screenshot-data', pollIntervalMs: 200, queues: ['default', 'reports'], writeStateFile: false });
try {
  const q = stack.queue;
  for (let i = 0; i < 12; i++) await q.enqueue('send_email', { to: `user${i}@example.com`, subject: 'Welcome' });
  const retried = await q.enqueue('flaky', { failTimes: 1 }, { backoff: { baseMs: 100 } });
  for (let i = 0; i < 3; i++) await q.enqueue('flaky', { failTimes: 9 }, { maxAttempts: 2, backoff: { baseMs: 100 } });
  await q.enqueue('send_email', { to: 'not-an-email', subject: 'x' });
  await q.cancelJob(await q.enqueue('noop', {}, { delayMs: 3_600_000 }));
  for (let i = 0; i < 4; i++) await q.enqueue('send_email', { to: `later${i}@example.com`, subject: 'Reminder' }, { delayMs: 600_000 * (i + 1), idempotencyKey: `reminder-${i}` });
  for (let i = 0; i < 3; i++) await q.enqueue('generate_report', { reportType: `monthly-${i}` }, { queue: 'reports', delayMs: 900_000 * (i + 1), priority: 20 });
  await q.enqueue('generate_report', { reportType: 'quarterly', steps: 80, stepMs: 250 }, { queue: 'reports', priority: 30 });
  for (let i = 0; i < 5; i++) await q.enqueue('noop', { i }, { queue: 'bulk' });
  await new Promise((r) => setTimeout(r, 5_000));
  const browser = await launchChromium();
  const shoot = async (page: Page, path: string) => {
    await page.goto(`${stack.url}/?queue=default&status=failed&job=${retried}`);
    await page.locator('#d-status').filter({ hasText: 'completed' }).waitFor();
    await page.locator('#job-rows tr').first().waitFor();
    await page.waitForTimeout(500);
    await page.screenshot({ path, fullPage: true });
  };
  await shoot(await browser.newPage({ viewport: { width: 1280, height: 900 } }), 'docs/dashboard.png');
  await shoot(await browser.newPage({ viewport: { width: 400, height: 900 } }), 'docs/dashboard-narrow.png');
  await browser.close();
} finally {
  await stack.stop();
}
