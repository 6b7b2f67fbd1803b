/**
 * Regenerates `docs/dashboard.png` (the README's screenshot): a throwaway in-memory stack with a
 * mix of jobs, a report in progress open in the detail. Not a test; run `npx tsx test/e2e/docs-screenshot.ts`.
 */
import { chromium } from 'playwright-core';
import { handlers } from '../../functions/jobs/index.ts';
import { startLocalStack } from '../../lib/local/stack.ts';

const stack = await startLocalStack({ handlers, port: 0, inMemory: true, dataDir: 'test-results/screenshot-data', pollIntervalMs: 200 });
try {
  const q = stack.queue;
  for (let i = 0; i < 6; i++) await q.enqueue('send_email', { to: `user${i}@example.com`, subject: 'Welcome' });
  await q.enqueue('flaky', { failTimes: 1 }, { backoff: { baseMs: 100 } });
  await q.enqueue('flaky', { failTimes: 9 }, { maxAttempts: 2, backoff: { baseMs: 100 } });
  await q.enqueue('send_email', { to: 'not-an-email', subject: 'x' }, { maxAttempts: 1 });
  await q.cancelJob(await q.enqueue('noop', {}, { delayMs: 3_600_000 }));
  for (let i = 0; i < 4; i++) await q.enqueue('generate_report', { reportType: `monthly-${i}` }, { delayMs: 600_000 * (i + 1), priority: 20 });
  const report = await q.enqueue('generate_report', { reportType: 'quarterly', steps: 40, stepMs: 250 }, { priority: 30 });
  await new Promise((r) => setTimeout(r, 4_000));
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(`${stack.url}/`);
  await page.getByRole('button', { name: /processing$/ }).click();
  await page.locator(`[data-job-id="${report}"]`).click();
  await page.getByLabel('Type').selectOption('send_email');
  await page.getByLabel('Payload (JSON)').fill('{"to": "ada@example.com", "subject": "Your report is ready"}');
  await page.waitForTimeout(2_500);
  await page.screenshot({ path: 'docs/dashboard.png', fullPage: true });
  await browser.close();
} finally {
  await stack.stop();
}
