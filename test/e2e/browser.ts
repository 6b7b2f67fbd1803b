/** The headless Chromium the browser tests drive (playwright-core, the system's chromium). */
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';

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
