import { isolatedEnv, ServiceProcess } from '@keyward/testing';
import { Browser, BrowserContext, BrowserContextOptions, Page } from 'playwright-core';
import { csrfTokenFor } from './accounts';
import { launchChromium } from './browser';

/**
 * What a test of the Settings web app drives: key-service and notification-service processes on the
 * real stack (in the test's own namespace and databases) and Debian's chromium. The test chooses
 * key-service's KEY_HASH_SECRET, so it can make the CSRF token of a session it writes.
 */
export class WebSystem {
  private constructor(
    private readonly keyService: ServiceProcess,
    private readonly notificationService: ServiceProcess,
    readonly browser: Browser,
    private readonly keyHashSecret: string,
  ) {}

  static async start(
    { env, mongoUri }: ReturnType<typeof isolatedEnv>,
    keyServiceEnv: { KEY_HASH_SECRET: string } & Record<string, string>,
  ): Promise<WebSystem> {
    const [keyService, notificationService, browser] = await Promise.all([
      ServiceProcess.start('key-service', { ...env, MONGO_URI: mongoUri('keys'), ...keyServiceEnv }),
      ServiceProcess.start('notification-service', { ...env, MONGO_URI: mongoUri('notifications') }),
      launchChromium(),
    ]);
    return new WebSystem(keyService, notificationService, browser, keyServiceEnv.KEY_HASH_SECRET);
  }

  /** key-service's address: the API and the web app. */
  get url(): string {
    return this.keyService.url;
  }

  async stop(): Promise<void> {
    await this.browser.close();
    await Promise.all([this.keyService.stop(), this.notificationService.stop()]);
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

  /** A new page of `context`, showing Settings. */
  async settingsPage(context: BrowserContext): Promise<Page> {
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    await page.goto(`${this.url}/settings`);
    await page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor();
    return page;
  }
}
