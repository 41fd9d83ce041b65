import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BrowserContext, Page } from 'playwright-core';
import { isolatedEnv, Mailpit } from '@keyward/testing';
import { loggedInUser } from './support/accounts';
import { screenshotsDir, textMatching } from './support/browser';
import { call } from './support/http';
import { DESKTOP, PHONE, WebSystem } from './support/web-system';

/** Known to the test, so it can make the CSRF token key-service would give a session it writes. */
const KEY_HASH_SECRET = 'web-account-test-key-hash-secret-0123456789';
const tokenHash = (token: string) => createHash('sha256').update(token).digest('base64url');

/**
 * Settings → Account in a real browser (Debian's chromium) against the real system: the time zone
 * proposed from the browser's and chosen, every date on the page following it, and the sessions
 * listed and signed out. Screenshots at desktop and phone widths.
 */
describe('the Account section of Settings', () => {
  const isolated = isolatedEnv();
  const { mongoUri, emailDomain } = isolated;
  const mailpit = new Mailpit();
  const mail = (name: string) => `${name}@${emailDomain}`;
  let web: WebSystem;

  const accountOf = (token: string) =>
    call<{ timeZone: string; timeZoneChosen: boolean }>(web.url, token, 'GET', '/v1/account');

  /** A session of the account as this version stores a sign-in from elsewhere; returns its token. */
  async function signedInElsewhere(email: string, fields: Record<string, unknown>): Promise<string> {
    const user = await web.system.keysDb.collection('users').findOne({ email });
    const token = randomBytes(32).toString('base64url');
    const now = Date.now();
    await web.system.keysDb.collection<{ _id: string } & Record<string, unknown>>('sessions').insertOne({
      _id: tokenHash(token),
      userId: user!._id.toHexString(),
      createdAt: new Date(now - 2 * 3_600_000),
      expiresAt: new Date(now + 3_600_000),
      ...fields,
    });
    return token;
  }

  before(async () => {
    web = await WebSystem.start(isolated, { KEY_HASH_SECRET });
  });

  after(async () => {
    await web?.stop();
  });

  describe('at desktop width, in a browser set to London', () => {
    const email = mail('alice.tan');
    let context: BrowserContext;
    let page: Page;
    /** The account as the previous version left it: its session, a key, a sign-in from a phone. */
    let oldSession: string;
    let phoneSession: string;

    const keyCell = (column: string) => page.locator(`#keys-body td[data-label="${column}"]`).first();

    before(async () => {
      oldSession = await loggedInUser(mongoUri('keys'), email);
      const created = await call(web.url, oldSession, 'POST', '/v1/keys', {
        label: 'production',
        contacts: [mail('ops')],
      });
      assert.equal(created.status, 201);
      phoneSession = await signedInElsewhere(email, {
        lastSeenAt: new Date(Date.now() - 30 * 60_000),
        clientAddress: '198.51.100.23',
        userAgent: 'Safari 17 on iOS',
      });
      context = await web.browser.newContext({ ...DESKTOP, timezoneId: 'Europe/London' });
      page = await web.newPage(context);
    });

    after(async () => {
      await context?.close();
    });

    it('proposes the browser’s zone after signing in to an account that never chose one', async () => {
      await page.goto(web.url);
      await page.getByLabel('Email', { exact: true }).fill(email);
      await page.getByRole('button', { name: 'Email me a code' }).click();
      const [message] = await mailpit.waitFor(email, 1);
      assert.match(message.Text, /GMT\+8\b/, 'the code’s expiry in the account’s zone until one is chosen');
      await page.getByLabel('One-time code').fill(/\b(\d{6})\b/.exec(message.Text)![1]);
      await page.getByRole('button', { name: 'Log in' }).click();

      const proposal = page.getByRole('region', { name: 'Which time zone should keyward use?' });
      await textMatching(proposal, /Asia\/Singapore \(GMT\+8\), keyward’s default.*Europe\/London \(GMT(\+0)?\)/s);
      await textMatching(keyCell('Created'), /GMT\+8$/);
      await proposal.screenshot({ path: join(screenshotsDir(), 'time-zone-proposal-desktop.png') });

      await page.getByRole('button', { name: 'Use Europe/London' }).click();
      await proposal.waitFor({ state: 'hidden' });
      await textMatching(page.locator('#account-notice'), /now shown in Europe\/London \(GMT(\+0)?\)/);
      await textMatching(keyCell('Created'), /\d{2}:\d{2} GMT(\+0)?$/);
      await textMatching(keyCell('Expires'), /May 2027, \d{2}:\d{2} GMT\+1/);
      const { body } = await accountOf(oldSession);
      assert.deepEqual([body.timeZone, body.timeZoneChosen], ['Europe/London', true]);

      await page.reload();
      await textMatching(keyCell('Created'), /GMT(\+0)?$/);
      assert.equal(await page.getByLabel('Show times in').inputValue(), 'Europe/London');
      assert.equal(await proposal.isVisible(), false, 'asked once');
    });

    it('lists where the account is signed in, this device marked, in the chosen zone', async () => {
      const items = page.locator('#sessions-list li');
      await textMatching(page.locator('#sessions-list'), /Safari 17 on iOS/);
      const texts = await items.allInnerTexts();
      assert.equal(texts.length, 3, texts.join(' | '));
      const [current, old, phone] = texts;
      assert.match(
        current,
        /^Chrome \d+ on Linux This device\n+Signed in .* GMT(\+0)? · Last active .* GMT(\+0)? · from 127\.0\.0\.1$/,
      );
      // Newest first: the session of the previous version was made when the test began.
      assert.match(old, /^Unknown device\n+Signed in .* GMT(\+0)?/);
      assert.match(
        phone,
        /^Safari 17 on iOS\n+Signed in .* GMT(\+0)? · Last active .* GMT(\+0)? · from 198\.51\.100\.23/,
      );
      assert.match(phone, /Sign out/);
      assert.equal(await items.nth(0).getByRole('button').count(), 0, 'this device signs out with Log out');
      await page.locator('#account-section').screenshot({ path: join(screenshotsDir(), 'account-desktop.png') });
    });

    it('shows every date again in a zone chosen from the list', async () => {
      await page.getByLabel('Show times in').selectOption('Asia/Tokyo');
      await page.getByRole('button', { name: 'Save time zone' }).click();
      await textMatching(page.locator('#account-notice'), /now shown in Asia\/Tokyo \(GMT\+9\)/);
      await textMatching(keyCell('Created'), /GMT\+9$/);
      await textMatching(page.locator('#sessions-list li').first(), /Signed in .* GMT\+9 · Last active .* GMT\+9/);
      assert.equal((await accountOf(oldSession)).body.timeZone, 'Asia/Tokyo');
    });

    it('signs out one other session, then every other one', async () => {
      await page.getByRole('button', { name: 'Sign out Safari 17 on iOS' }).click();
      await textMatching(page.locator('#account-notice'), /Signed out Safari 17 on iOS\./);
      await page.locator('#sessions-list li', { hasText: 'Safari' }).waitFor({ state: 'detached' });
      assert.equal((await accountOf(phoneSession)).status, 401, 'its token no longer works');
      assert.equal((await accountOf(oldSession)).status, 200);

      await page.getByRole('button', { name: 'Sign out everywhere else' }).click();
      await textMatching(page.locator('#account-notice'), /Signed out 1 other session\./);
      // The notice can show before the list is drawn again.
      await page.locator('#sessions-list li').nth(1).waitFor({ state: 'detached' });
      assert.equal(await page.locator('#sessions-list li').count(), 1);
      await textMatching(page.locator('#sessions-list'), /This device/);
      assert.equal(await page.getByRole('button', { name: 'Sign out everywhere else' }).isVisible(), false);
      assert.equal((await accountOf(oldSession)).status, 401);
      assert.equal((await call(web.url, undefined, 'GET', '/v1/keys')).status, 401);
      await textMatching(page.locator('#keys-body'), /production/);
    });
  });

  it('at phone width: keeping the default is a choice too; no sideways scrolling', async () => {
    const email = mail('bob');
    const token = await loggedInUser(mongoUri('keys'), email);
    await signedInElsewhere(email, {
      lastSeenAt: new Date(),
      clientAddress: '203.0.113.7',
      userAgent: 'Firefox 133 on Windows',
    });
    const phone = await web.loggedIn(token, { ...PHONE, timezoneId: 'America/New_York' });
    try {
      const page = await web.settingsPage(phone);
      const proposal = page.getByRole('region', { name: 'Which time zone should keyward use?' });
      await textMatching(proposal, /America\/New York \(GMT-5\)/);
      await page.getByRole('button', { name: 'Keep Asia/Singapore' }).click();
      await proposal.waitFor({ state: 'hidden' });
      assert.deepEqual(
        { ...(await accountOf(token)).body, createdAt: null },
        { email, username: 'bob', timeZone: 'Asia/Singapore', timeZoneChosen: true, createdAt: null },
      );

      await textMatching(page.locator('#sessions-list'), /Firefox 133 on Windows/);
      const width = await page.evaluate<number>('document.documentElement.scrollWidth');
      assert.ok(width <= 390, `no sideways scrolling on a phone (page is ${width}px wide)`);
      await page.locator('#account-section').screenshot({ path: join(screenshotsDir(), 'account-phone.png') });
    } finally {
      await phone.close();
    }
  });
});
