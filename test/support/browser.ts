import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { Browser, chromium, Locator } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/**
 * Where browser tests save screenshots: test-results/ on every run; `UPDATE_SCREENSHOTS=1` saves
 * into docs/screenshots, the ones the README shows, so ordinary runs leave the tree clean.
 */
export function screenshotsDir(): string {
  const parts = process.env.UPDATE_SCREENSHOTS ? ['docs', 'screenshots'] : ['test-results', 'screenshots'];
  // From the build's test/support/ to the checkout's root.
  const dir = resolve(__dirname, '..', '..', '..', ...parts);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * Debian's chromium, headless, without background traffic; each launch gets a fresh temporary
 * profile. A missing browser fails the test (never skips it), saying how to install it.
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `browser tests need Debian's chromium at ${CHROMIUM}: run apt-get install -y chromium (.ci/run does)`,
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: 60_000,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
}

/** Waits until the element's visible text matches, then returns it; fails showing the last text seen. */
export async function textMatching(locator: Locator, pattern: RegExp, timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let text = '';
  while (Date.now() < deadline) {
    text = await locator.innerText({ timeout: timeoutMs }).catch(() => '');
    if (pattern.test(text)) return text;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.match(text, pattern);
  return text;
}
