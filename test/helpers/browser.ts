/**
 * A real browser for page tests: Debian's chromium (apt package `chromium`, installed by .ci/deps)
 * driven by playwright-core, which downloads nothing when given an executablePath.
 *
 *   const browser = await startBrowser(t);   // closed at the test's end
 *   const page = await browser.newPage();
 *
 * Every run gets a fresh profile in the test's folder; the flags keep chromium from reaching out
 * (no component updates, sync, QUIC or background networking) and run it without a sandbox (root
 * in CI containers) or a GPU.
 */
import { existsSync } from 'node:fs';
import type { Test } from 'tap';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Launch chromium with a fresh profile (the persistent context is the browser; one cookie jar). */
export async function startBrowser(t: Test, viewport = { width: 1280, height: 860 }): Promise<BrowserContext> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} missing: run .ci/deps (Debian package chromium)`);
  const profile = t.testdir({});
  const ctx = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS, viewport });
  t.teardown(() => ctx.close());
  return ctx;
}
