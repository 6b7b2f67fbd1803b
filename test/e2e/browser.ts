/** The headless Chromium the browser tests drive (playwright-core, the system's chromium). */
import { chromium } from 'playwright-core';
import type { Browser, Locator, Page } from 'playwright-core';
import { expect } from 'vitest';

/** Launches the system's headless Chromium (`apt-get install -y chromium`). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
}

/** A new page of `width` x `height` whose uncaught errors and console errors are pushed to `errors`. */
export async function watchedPage(browser: Browser, errors: string[], width = 1280, height = 1000): Promise<Page> {
  const page = await browser.newPage({ viewport: { width, height } });
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  return page;
}

/** The confirmation dialog once open, after checking its heading and that its text holds `text`. */
export async function expectDialog(page: Page, heading: string, text: string): Promise<Locator> {
  const dialog = page.getByRole('dialog');
  await expect.poll(() => dialog.isVisible()).toBe(true);
  expect(await dialog.getByRole('heading').textContent()).toBe(heading);
  expect(await dialog.textContent()).toContain(text);
  return dialog;
}

/** Confirms the dialog (checked as {@link expectDialog} does) and waits for the dashboard's `message`. */
export async function confirmDialog(page: Page, heading: string, text: string, message: string): Promise<void> {
  const dialog = await expectDialog(page, heading, text);
  await dialog.getByRole('button', { name: 'Confirm' }).click();
  await expect.poll(() => page.locator('#action-message').textContent(), { timeout: 10_000 }).toBe(message);
}
