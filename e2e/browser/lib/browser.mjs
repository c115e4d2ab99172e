// Debian's chromium, headless, driven by playwright-core. Never downloads a browser.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Launches chromium with a fresh temporary profile (playwright's default). */
export async function launchChromium() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ARGS,
    // playwright adds its own --headless; ours is the same flag.
    headless: true,
    timeout: 30_000,
  });
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * A fresh browser context (own cookie jar) in which every request that is not
 * for a loopback host is aborted, so the tests stay hermetic (the oidc-provider
 * pages @import a web font, for instance). Aborted URLs are collected in
 * `context.blockedRequests`.
 */
export async function newIsolatedContext(browser) {
  const context = await browser.newContext({ viewport: { width: 1000, height: 800 } });
  context.setDefaultTimeout(15_000);
  context.setDefaultNavigationTimeout(20_000);
  context.blockedRequests = [];
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (url.protocol === 'data:' || LOOPBACK.has(url.hostname)) return route.continue();
    context.blockedRequests.push(url.href);
    return route.abort('blockedbyclient');
  });
  return context;
}

/** Saves a full-page PNG as `<dir>/<name>.png` and returns its path. */
export async function screenshot(page, dir, name) {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
