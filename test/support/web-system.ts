import { isolatedEnv } from '@keyward/testing';
import { Browser, BrowserContext, BrowserContextOptions, Page } from 'playwright-core';
import { csrfTokenFor } from './accounts';
import { launchChromium } from './browser';
import { KeywardSystem } from './keyward-system';

/** A desktop's screen, for the wide layout. */
export const DESKTOP = { viewport: { width: 1280, height: 900 } };

/** A phone's screen, for the narrow layout (no sideways scrolling at 390 px). */
export const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true };

/**
 * What a test of the Settings web app drives: the system (KeywardSystem) and Debian's chromium. The
 * test chooses key-service's KEY_HASH_SECRET, so it can make the CSRF token of a session it writes.
 */
export class WebSystem {
  private constructor(
    readonly system: KeywardSystem,
    readonly browser: Browser,
    private readonly keyHashSecret: string,
  ) {}

  static async start(
    isolated: ReturnType<typeof isolatedEnv>,
    keyServiceEnv: { KEY_HASH_SECRET: string } & Record<string, string>,
  ): Promise<WebSystem> {
    const [system, browser] = await Promise.all([KeywardSystem.start(isolated, keyServiceEnv), launchChromium()]);
    return new WebSystem(system, browser, keyServiceEnv.KEY_HASH_SECRET);
  }

  /** key-service's address: the API and the web app. */
  get url(): string {
    return this.system.url;
  }

  async stop(): Promise<void> {
    await this.browser.close();
    await this.system.stop();
  }

  /** A browser context as the login flow leaves it: the session cookie (httpOnly) and the CSRF cookie. */
  async loggedIn(sessionToken: string, options: BrowserContextOptions): Promise<BrowserContext> {
    const context = await this.browser.newContext(options);
    const cookie = { domain: new URL(this.url).hostname, path: '/', sameSite: 'Strict' as const };
    await context.addCookies([
      { ...cookie, name: 'keyward_session', value: sessionToken, httpOnly: true },
      { ...cookie, name: 'keyward_csrf', value: csrfTokenFor(sessionToken, this.keyHashSecret) },
    ]);
    return context;
  }

  /** A new page of `context`, waiting up to 20 s for what it looks for. */
  async newPage(context: BrowserContext): Promise<Page> {
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    return page;
  }

  /** A new page of `context`, showing Settings. */
  async settingsPage(context: BrowserContext): Promise<Page> {
    const page = await this.newPage(context);
    await page.goto(`${this.url}/settings`);
    await page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor();
    return page;
  }
}
