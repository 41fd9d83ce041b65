import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BrowserContext, Page } from 'playwright-core';
import { isolatedEnv, Mailpit, sleep } from '@keyward/testing';
import { loggedInUser } from './support/accounts';
import { screenshotsDir, textMatching } from './support/browser';
import { call } from './support/http';
import { DESKTOP, PHONE, WebSystem } from './support/web-system';

const KEY_HASH_SECRET = 'web-account-data-test-key-hash-secret-0123';

/**
 * Settings → Account → Your data in a real browser (Debian's chromium) against the real system:
 * downloading one's data, and closing the account with the code emailed for it.
 */
describe('the Settings web app: your data and closing the account', () => {
  const isolated = isolatedEnv();
  const { mongoUri, emailDomain } = isolated;
  const mailpit = new Mailpit();
  const email = `leaving.user@${emailDomain}`;
  const contact = `ops@${emailDomain}`;
  let web: WebSystem;
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
    web = await WebSystem.start(isolated, { KEY_HASH_SECRET });
    token = await loggedInUser(mongoUri('keys'), email);
    const created = await call(web.url, token, 'POST', '/v1/keys', { label: 'production', contacts: [contact] });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    context = await web.loggedIn(token, { ...DESKTOP, acceptDownloads: true });
    page = await web.settingsPage(context);
  });

  after(async () => {
    await context?.close();
    await web?.stop();
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
    // The whole Account section: Your data and Close your account beside the time zone and sessions.
    await page.locator('#account-section').screenshot({ path: join(screenshotsDir(), 'your-data-desktop.png') });

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
    await page.screenshot({ path: join(screenshotsDir(), 'close-account-desktop.png') });

    const phone = await web.browser.newContext({ ...PHONE, storageState: await context.storageState() });
    try {
      const phonePage = await phone.newPage();
      await phonePage.goto(`${web.url}/settings`);
      const section = phonePage.getByRole('region', { name: 'Your data' });
      await section.waitFor();
      const width = await phonePage.evaluate<number>('document.documentElement.scrollWidth');
      assert.ok(width <= 390, `no sideways scrolling on a phone (page is ${width}px wide)`);
      await section.screenshot({ path: join(screenshotsDir(), 'your-data-phone.png') });
      await phonePage.getByRole('button', { name: 'Close account…' }).click();
      await phonePage.getByRole('dialog', { name: 'Close your account?' }).waitFor();
      await phonePage.screenshot({ path: join(screenshotsDir(), 'close-account-phone.png') });
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
    assert.equal((await call(web.url, token, 'GET', '/v1/keys')).status, 404);
  });
});
