import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Browser, BrowserContext, Page } from 'playwright-core';
import { isolatedEnv, Mailpit, ServiceProcess, sleep } from '@keyward/testing';
import { csrfTokenFor, loggedInUser } from './support/accounts';
import { launchChromium, textMatching } from './support/browser';
import { call } from './support/http';

/** As in web-settings: `UPDATE_SCREENSHOTS=1` refreshes the README's copies in docs/screenshots. */
const SCREENSHOTS = resolve(
  __dirname,
  '..',
  '..',
  ...(process.env.UPDATE_SCREENSHOTS ? ['docs', 'screenshots'] : ['test-results', 'screenshots']),
);
const KEY_HASH_SECRET = 'web-account-data-test-key-hash-secret-0123';

/**
 * Settings → Account → Your data in a real browser (Debian's chromium) against the real system:
 * downloading one's data, and closing the account with the code emailed for it.
 */
describe('the Settings web app: your data and closing the account', () => {
  const { env, mongoUri, emailDomain } = isolatedEnv();
  const mailpit = new Mailpit();
  const email = `leaving.user@${emailDomain}`;
  const contact = `ops@${emailDomain}`;
  let keyService: ServiceProcess;
  let notificationService: ServiceProcess;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let token: string;

  /** The 6-digit code of the newest closure-code email, once `count` have arrived. */
  async function closureCode(count: number): Promise<string> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const found = (await mailpit.search(`to:"${email}"`)).filter((m) => /close your keyward account/.test(m.Subject));
      if (found.length >= count) {
        const newest = found.sort((a, b) => b.Created.localeCompare(a.Created))[0];
        const code = /\b(\d{6})\b/.exec((await mailpit.message(newest.ID)).Text)?.[1];
        assert.ok(code, 'the email holds a 6-digit code');
        return code;
      }
      assert.ok(Date.now() < deadline, `${count} closure code email(s)`);
      await sleep(100);
    }
  }

  before(async () => {
    [keyService, notificationService, browser] = await Promise.all([
      ServiceProcess.start('key-service', { ...env, MONGO_URI: mongoUri('keys'), KEY_HASH_SECRET }),
      ServiceProcess.start('notification-service', { ...env, MONGO_URI: mongoUri('notifications') }),
      launchChromium(),
    ]);
    token = await loggedInUser(mongoUri('keys'), email);
    const created = await call(keyService.url, token, 'POST', '/v1/keys', { label: 'production', contacts: [contact] });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    // Logged in as the login flow would leave the browser: session cookie (httpOnly) and CSRF cookie.
    context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
    const cookie = { domain: '127.0.0.1', path: '/', sameSite: 'Strict' as const };
    await context.addCookies([
      { ...cookie, name: 'keyward_session', value: token, httpOnly: true },
      { ...cookie, name: 'keyward_csrf', value: csrfTokenFor(token, KEY_HASH_SECRET) },
    ]);
    page = await context.newPage();
    page.setDefaultTimeout(20_000);
    await page.goto(`${keyService.url}/settings`);
    await page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor();
  });

  after(async () => {
    await context?.close();
    await browser?.close();
    await Promise.all([keyService?.stop(), notificationService?.stop()]);
  });

  it('downloads everything keyward holds about the account as one JSON file', async () => {
    const section = page.getByRole('region', { name: 'Your data' });
    await section.waitFor();
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      section.getByRole('button', { name: 'Download your data' }).click(),
    ]);
    assert.equal(download.suggestedFilename(), 'keyward-account.json');
    const data = JSON.parse(readFileSync(await download.path(), 'utf8')) as {
      account: { email: string };
      keys: { label: string; contacts: string[] }[];
    };
    assert.equal(data.account.email, email);
    assert.deepEqual(
      data.keys.map((k) => [k.label, k.contacts]),
      [['production', [contact]]],
    );
    await textMatching(page.locator('#settings-notice'), /downloaded as keyward-account\.json/);
  });

  it('closes the account only with the emailed code, shown beside its field; screenshots at desktop and phone widths', async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    // The whole Account section: Your data and Close your account beside the time zone and sessions.
    await page.locator('#account-section').screenshot({ path: join(SCREENSHOTS, 'your-data-desktop.png') });

    await page.getByRole('button', { name: 'Close account…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Close your account?' });
    await dialog.waitFor();
    assert.match(await dialog.innerText(), new RegExp(email.replace(/\./g, '\\.')));
    await dialog.getByRole('button', { name: 'Email me a code' }).click();
    const codeInput = dialog.getByLabel('Code from the email');
    await codeInput.waitFor();
    const code = await closureCode(1);

    await codeInput.fill(code === '000000' ? '000001' : '000000');
    await dialog.getByRole('button', { name: 'Close my account for good' }).click();
    await textMatching(page.locator('#close-code-error'), /wrong or has expired/);
    assert.equal(await codeInput.getAttribute('aria-invalid'), 'true');
    await page.screenshot({ path: join(SCREENSHOTS, 'close-account-desktop.png') });

    const phone = await browser.newContext({
      viewport: { width: 390, height: 844 },
      isMobile: true,
      hasTouch: true,
      storageState: await context.storageState(),
    });
    try {
      const phonePage = await phone.newPage();
      await phonePage.goto(`${keyService.url}/settings`);
      const section = phonePage.getByRole('region', { name: 'Your data' });
      await section.waitFor();
      const width = await phonePage.evaluate<number>('document.documentElement.scrollWidth');
      assert.ok(width <= 390, `no sideways scrolling on a phone (page is ${width}px wide)`);
      await section.screenshot({ path: join(SCREENSHOTS, 'your-data-phone.png') });
      await phonePage.getByRole('button', { name: 'Close account…' }).click();
      await phonePage.getByRole('dialog', { name: 'Close your account?' }).waitFor();
      await phonePage.screenshot({ path: join(SCREENSHOTS, 'close-account-phone.png') });
    } finally {
      await phone.close();
    }

    await codeInput.fill(code);
    await dialog.getByRole('button', { name: 'Close my account for good' }).click();
    await textMatching(page.locator('#login-notice'), /Your account is closed/);
    await page.getByLabel('Email', { exact: true }).waitFor();
    assert.equal(new URL(page.url()).pathname, '/');
    const cookies = await context.cookies();
    assert.ok(!cookies.some((c) => c.name === 'keyward_session' && c.value), 'the session cookie is gone');
    // The contact hears the key no longer works; the old session finds no account.
    const [closed] = await mailpit.waitFor(contact, 2);
    assert.ok(
      (await mailpit.messagesTo(contact)).some((m) => /its keyward account was closed/.test(m.Subject)),
      closed.Subject,
    );
    assert.equal((await call(keyService.url, token, 'GET', '/v1/keys')).status, 404);
  });
});
