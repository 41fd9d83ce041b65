import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import mongoose from 'mongoose';
import { BrowserContext, Page } from 'playwright-core';
import { isolatedEnv, Mailpit } from '@keyward/testing';
import { loggedInUser } from './support/accounts';
import { screenshotsDir, textMatching } from './support/browser';
import { keyDocument } from './support/key-documents';
import { DESKTOP, PHONE, WebSystem } from './support/web-system';

const MAX_ACTIVE = 3;
/** The browser runs in the account's zone, so Settings has no other zone to propose (test/web-account covers that). */
const ACCOUNT_ZONE = 'Asia/Singapore';
const DAY_MS = 86_400_000;
/** Known to the test, so it can make the CSRF token key-service would give the session it writes. */
const KEY_HASH_SECRET = 'web-settings-test-key-hash-secret-0123456789';

/** The row of the keys table for the key labelled `label`. */
const keyRow = (page: Page, label: string) =>
  page.locator('#keys-body tr').filter({ has: page.getByRole('rowheader', { name: label, exact: true }) });

/**
 * The Settings web app in a real browser (Debian's chromium) against the real system:
 * key-service and notification-service processes on the real Kafka, FerretDB and Mailpit.
 */
describe('the Settings web app', () => {
  const isolated = isolatedEnv();
  const { mongoUri, emailDomain } = isolated;
  const mailpit = new Mailpit();
  let web: WebSystem;

  before(async () => {
    web = await WebSystem.start(isolated, { KEY_MAX_ACTIVE_PER_OWNER: String(MAX_ACTIVE), KEY_HASH_SECRET });
  });

  after(async () => {
    await web?.stop();
  });

  it('serves its page and assets with a strict content security policy and no inline script', async () => {
    for (const path of ['/', '/settings']) {
      const res = await fetch(`${web.url}${path}`);
      assert.equal(res.status, 200, path);
      assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
      const csp = res.headers.get('content-security-policy') ?? '';
      assert.match(csp, /default-src 'self'/);
      assert.match(csp, /script-src 'self'(;|$)/, 'scripts from this origin only, none inline');
      assert.match(csp, /frame-ancestors 'none'/);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      const html = await res.text();
      assert.deepEqual(html.match(/<script(?![^>]*\ssrc=)[^>]*>/g), null, 'no inline <script>');
      assert.doesNotMatch(html, /\son[a-z]+=/i, 'no inline event handlers');
      assert.doesNotMatch(html, /https?:\/\//, 'nothing from another origin (no CDN, no web fonts)');
    }
    const script = await fetch(`${web.url}/assets/app.js`);
    assert.equal(script.status, 200);
    assert.match(script.headers.get('content-type') ?? '', /javascript/);
    assert.match(script.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    for (const hidden of ['format.spec.js', 'package.json', 'tsconfig.json', '..%2fweb.module.js']) {
      assert.equal((await fetch(`${web.url}/assets/${hidden}`)).status, 404, hidden);
    }
  });

  describe('a user’s whole journey: log in, generate, copy, list, edit contacts, rotate, revoke', () => {
    const email = `alice.tan@${emailDomain}`;
    const [ops, oncall, security] = ['ops', 'oncall', 'security'].map((name) => `${name}@${emailDomain}`);
    let context: BrowserContext;
    let page: Page;
    let firstKey: string;

    const row = (label: string) => keyRow(page, label);

    before(async () => {
      context = await web.browser.newContext({ ...DESKTOP, timezoneId: ACCOUNT_ZONE });
      await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: web.url });
      page = await web.newPage(context);
    });

    after(async () => {
      await context?.close();
    });

    it('logs in with the code emailed to the user, showing bad input beside its field', async () => {
      await page.goto(web.url);
      const emailInput = page.getByLabel('Email', { exact: true });
      await emailInput.waitFor();
      assert.equal(await page.getByRole('button', { name: 'Log out' }).isVisible(), false, 'nobody to log out yet');
      await emailInput.fill('not-an-email');
      await page.getByRole('button', { name: 'Email me a code' }).click();
      await textMatching(page.locator('#login-email-error'), /Email must be a valid email address/);
      assert.equal(await emailInput.getAttribute('aria-invalid'), 'true');

      await emailInput.fill(email);
      await page.getByRole('button', { name: 'Email me a code' }).click();
      const codeInput = page.getByLabel('One-time code');
      await codeInput.waitFor();
      const [message] = await mailpit.waitFor(email, 1);
      const code = /\b(\d{6})\b/.exec(message.Text)?.[1];
      assert.ok(code, 'the email holds a 6-digit code');

      await codeInput.fill(code === '000000' ? '000001' : '000000');
      await page.getByRole('button', { name: 'Log in' }).click();
      await textMatching(page.locator('#login-code-error'), /wrong or has expired/);
      assert.equal(await codeInput.getAttribute('aria-invalid'), 'true');

      await codeInput.fill(code);
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor();
      assert.equal(new URL(page.url()).pathname, '/settings');
      assert.equal(await page.getByLabel('Email', { exact: true }).isVisible(), false, 'the login form is gone');
      await textMatching(page.locator('#account-email'), new RegExp(email.replace(/\./g, '\\.')));
      await textMatching(page.locator('#no-keys'), /no API keys yet/);
      const cookies = await context.cookies();
      const session = cookies.find((c) => c.name === 'keyward_session');
      assert.ok(session?.httpOnly, 'the session cookie is out of reach of the page’s script');
    });

    it('generates a key shown once, with a copy button and a warning', async () => {
      await page.getByRole('button', { name: 'Generate API Key' }).click();
      const dialog = page.getByRole('dialog', { name: 'Generate API Key' });
      await textMatching(dialog, /cannot be changed/);
      await textMatching(dialog, /inboxes someone\s+reads/);
      await dialog.getByLabel('Label', { exact: true }).fill('production');
      await dialog.getByLabel('Contact email 1', { exact: true }).fill(ops);
      await dialog.getByRole('button', { name: 'Add another email' }).click();
      await dialog.getByLabel('Contact email 2', { exact: true }).fill(oncall);
      await dialog.getByRole('button', { name: 'Generate key' }).click();

      const reveal = page.getByRole('dialog', { name: 'Your new API key' });
      await reveal.waitFor();
      await textMatching(reveal, /will not be shown again/);
      firstKey = await reveal.getByLabel(/API key labelled production/).inputValue();
      assert.match(firstKey, /^alicetan_v1_[0-9A-Za-z]{36}$/);

      await reveal.getByRole('button', { name: 'Copy' }).click();
      await textMatching(reveal.getByRole('status'), /Copied/);
      assert.equal(await page.evaluate<string>('navigator.clipboard.readText()'), firstKey);

      await reveal.getByRole('button', { name: 'I have stored it' }).click();
      await reveal.waitFor({ state: 'hidden' });
      // Cleared when the dialog's close event fires, a task after it hides.
      await page.waitForFunction("document.getElementById('reveal-key').value === ''");
      assert.ok(!(await page.content()).includes(firstKey));
    });

    it('lists the key by label and last five, never the key itself', async () => {
      await page.reload();
      const production = row('production');
      const text = await textMatching(production, /Active/);
      assert.ok(text.includes(`…${firstKey.slice(-5)}`), text);
      assert.ok(text.includes(ops) && text.includes(oncall), text);
      assert.match(text, /GMT\+8/, 'times in the owner’s time zone, offset written out');
      assert.match(text, /\b18\d days left/);
      assert.doesNotMatch(text, /Expires soon/);
      assert.match(text, /Never/, 'not used yet');
      assert.ok(!(await page.content()).includes(firstKey));
    });

    it('edits the contacts of a key', async () => {
      await row('production').getByRole('button', { name: 'Edit contacts production' }).click();
      const dialog = page.getByRole('dialog', { name: 'Edit contacts' });
      assert.equal(await dialog.getByLabel('Contact email 1', { exact: true }).inputValue(), ops);
      assert.equal(await dialog.getByLabel('Contact email 2', { exact: true }).inputValue(), oncall);
      await dialog.getByRole('button', { name: 'Remove contact email 1' }).click();
      await dialog.getByRole('button', { name: 'Add another email' }).click();
      await dialog.getByLabel('Contact email 2', { exact: true }).fill(security);
      await dialog.getByRole('button', { name: 'Save contacts' }).click();
      await dialog.waitFor({ state: 'hidden' });
      await textMatching(page.locator('#settings-notice'), /Contacts of “production” saved/);
      const text = await textMatching(row('production'), new RegExp(security));
      assert.ok(text.includes(oncall) && !text.includes(ops), text);
    });

    it('sets what happens if a key leaks: notify only, then revoke again', async () => {
      const dialog = page.getByRole('dialog', { name: 'If this key leaks' });
      const choose = async (choice: RegExp, notice: RegExp) => {
        await row('production').getByRole('button', { name: 'If leaked… production' }).click();
        await dialog.getByLabel(choice).check();
        await dialog.getByRole('button', { name: 'Save' }).click();
        await dialog.waitFor({ state: 'hidden' });
        await textMatching(page.locator('#settings-notice'), notice);
      };
      await row('production').getByRole('button', { name: 'If leaked… production' }).click();
      assert.equal(await dialog.getByLabel(/Revoke it at once/).isChecked(), true, 'revoke is the default');
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      await dialog.waitFor({ state: 'hidden' });

      await choose(/Notify only/, /will only tell you/);
      await textMatching(row('production'), /If leaked: notify only/);
      await page.reload();
      await row('production').getByRole('button', { name: 'If leaked… production' }).click();
      assert.equal(await dialog.getByLabel(/Notify only/).isChecked(), true, 'kept by the server');
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      await dialog.waitFor({ state: 'hidden' });

      await choose(/Revoke it at once/, /will revoke it at once/);
      await row('production').getByText('If leaked: notify only').waitFor({ state: 'detached' });
    });

    it('rotates a key, keeping the old one for the chosen grace period', async () => {
      await row('production').getByRole('button', { name: 'Rotate production' }).click();
      const dialog = page.getByRole('dialog', { name: 'Rotate key' });
      await dialog.getByLabel('Old key keeps working for').selectOption({ label: '1 hour' });
      await dialog.getByRole('button', { name: 'Rotate key' }).click();

      const reveal = page.getByRole('dialog', { name: 'Your new API key' });
      await reveal.waitFor();
      const replacement = await reveal.getByLabel(/API key labelled/).inputValue();
      assert.match(replacement, /^alicetan_v1_/);
      assert.notEqual(replacement, firstKey);
      const label = /labelled (.+)$/.exec(await reveal.locator('label[for="reveal-key"]').innerText())?.[1] ?? '';
      assert.match(label, /^production \(\d{4}-\d{2}-\d{2}\)$/);
      await reveal.getByRole('button', { name: 'I have stored it' }).click();

      const fresh = await textMatching(row(label), /Active/);
      assert.ok(fresh.includes(`…${replacement.slice(-5)}`) && fresh.includes(security), fresh);
      const old = await textMatching(row('production'), /Expires soon: Less than a day left/);
      assert.match(old, /Active/, 'the old key works through its grace period');
      assert.ok(old.includes(`Replaced by “${label}”`), old);
      assert.equal(
        await row('production')
          .getByRole('button', { name: /^Rotate/ })
          .count(),
        0,
        'rotates once',
      );
    });

    it('revokes a key only after confirmation', async () => {
      const label = (await page.locator('#keys-body th').allInnerTexts()).find((l) => l.startsWith('production ('));
      assert.ok(label);
      const replacement = row(label);
      await replacement.getByRole('button', { name: `Revoke ${label}` }).click();
      const confirm = page.getByRole('dialog', { name: 'Revoke key?' });
      await textMatching(confirm, /cannot be undone/);
      await confirm.getByRole('button', { name: 'Cancel' }).click();
      await confirm.waitFor({ state: 'hidden' });
      await textMatching(replacement, /Active/);

      await replacement.getByRole('button', { name: `Revoke ${label}` }).click();
      await confirm.getByRole('button', { name: 'Revoke key' }).click();
      await textMatching(replacement, /Revoked/);
      assert.equal(await replacement.getByRole('button').count(), 1, 'a revoked key offers only its activity');
      assert.equal(await replacement.getByRole('button', { name: `Activity ${label}` }).count(), 1);
      await textMatching(page.locator('#settings-notice'), /was revoked/);
    });

    it('shows what was done to the keys and by whom, for the account and for one key, newest first', async () => {
      const timeline = page.locator('#activity-list');
      const what = () => timeline.locator('.timeline-what').allInnerTexts();
      // The timeline follows the key events through Kafka: reload until the last action is in.
      const deadline = Date.now() + 20_000;
      for (;;) {
        const text = await textMatching(timeline, /Created “production”/);
        if (/Revoked “production \(/.test(text)) break;
        assert.ok(Date.now() < deadline, `the revocation never reached the timeline: ${text}`);
        await page.reload();
      }
      const all = await what();
      assert.equal(all.length, 5, all.join(' | '));
      assert.match(all[0], /^Revoked “production \(\d{4}-\d{2}-\d{2}\)” \(…\w{5}\)$/);
      assert.deepEqual(
        all
          .slice(1, 3)
          .map((t) => t.split(' ')[0])
          .sort(),
        ['Created', 'Rotated'],
        'one instant',
      );
      assert.equal(
        all[3],
        `Changed the contacts of “production” (…${firstKey.slice(-5)}): added ${security}; removed ${ops}`,
      );
      assert.equal(all[4], `Created “production” (…${firstKey.slice(-5)}), contacts ${ops}, ${oncall}`);
      assert.match(
        await timeline.locator('li').first().innerText(),
        new RegExp(`GMT\\+8 · ${email} from 127\\.0\\.0\\.1`),
      );

      await row('production').getByRole('button', { name: 'Activity production' }).click();
      await textMatching(page.locator('#activity-scope'), /What was done to “production” \(…/);
      assert.deepEqual(
        (await what()).map((t) => t.split(' ')[0]),
        ['Rotated', 'Changed', 'Created'],
      );
      assert.equal(await focusedId(page), 'activity-title', 'focus moves to the timeline');
      await page.getByRole('button', { name: 'Show all keys' }).click();
      await textMatching(page.locator('#activity-scope'), /your keys/);
      assert.equal((await what()).length, 5);
    });

    it('marks legacy, expiring and expired keys clearly; screenshots at desktop and phone widths', async () => {
      await importKeys(mongoUri('keys'), email);
      await page.reload();
      const legacy = await textMatching(row('default'), /Expired/);
      assert.match(legacy, /\*{5}/);
      assert.match(legacy, /21 Apr 2024, 08:00 GMT\+8/);
      assert.match(legacy, /Expired \d+ days ago/);
      assert.match(legacy, /None: emails go to your login address/);
      const staging = await textMatching(row('staging'), /Expires soon: 12 days left/);
      assert.match(staging, /Active/);
      assert.doesNotMatch(staging, /Never/, 'shows when it was last used');

      await page.screenshot({ path: join(screenshotsDir(), 'settings-desktop.png'), fullPage: true });

      const phone = await web.browser.newContext({
        ...PHONE,
        timezoneId: ACCOUNT_ZONE,
        storageState: await context.storageState(),
      });
      try {
        const phonePage = await phone.newPage();
        await phonePage.goto(`${web.url}/settings`);
        await textMatching(phonePage.locator('#keys-body'), /staging/);
        const width = await phonePage.evaluate<number>('document.documentElement.scrollWidth');
        assert.ok(width <= 390, `no sideways scrolling on a phone (page is ${width}px wide)`);
        await phonePage.screenshot({ path: join(screenshotsDir(), 'settings-phone.png'), fullPage: true });
        await textMatching(phonePage.locator('#activity-list'), /Revoked/);
        await phonePage.locator('.activity').screenshot({ path: join(screenshotsDir(), 'activity-phone.png') });
      } finally {
        await phone.close();
      }
    });
  });

  describe('errors from the API beside the field they concern', () => {
    const email = `bob@${emailDomain}`;
    const contact = `bob.ops@${emailDomain}`;
    let context: BrowserContext;
    let page: Page;

    const generateDialog = () => page.getByRole('dialog', { name: 'Generate API Key' });

    async function generate(label: string, contacts: string[]): Promise<void> {
      await page.getByRole('button', { name: 'Generate API Key' }).click();
      const dialog = generateDialog();
      await dialog.getByLabel('Label', { exact: true }).fill(label);
      for (const [i, value] of contacts.entries()) {
        if (i > 0) await dialog.getByRole('button', { name: 'Add another email' }).click();
        await dialog.getByLabel(`Contact email ${i + 1}`, { exact: true }).fill(value);
      }
      await dialog.getByRole('button', { name: 'Generate key' }).click();
    }

    async function generateOk(label: string): Promise<void> {
      await generate(label, [contact]);
      const reveal = page.getByRole('dialog', { name: 'Your new API key' });
      await reveal.getByRole('button', { name: 'I have stored it' }).click();
      await reveal.waitFor({ state: 'hidden' });
    }

    before(async () => {
      const token = await loggedInUser(mongoUri('keys'), email);
      context = await web.loggedIn(token, { ...DESKTOP, timezoneId: ACCOUNT_ZONE });
      page = await web.settingsPage(context);
    });

    afterEach(async () => {
      // A failed step must not leave a dialog over the page for the next one.
      await page.evaluate("document.querySelectorAll('dialog[open]').forEach((d) => d.close())");
    });

    after(async () => {
      await context?.close();
    });

    it('is usable by keyboard: the dialog takes focus, Escape closes it and gives focus back', async () => {
      const button = page.getByRole('button', { name: 'Generate API Key' });
      await button.focus();
      await page.keyboard.press('Enter');
      await generateDialog().waitFor();
      assert.equal(await focusedId(page), 'generate-label');
      await page.keyboard.press('Escape');
      await generateDialog().waitFor({ state: 'hidden' });
      assert.equal(await focusedId(page), 'generate');
    });

    it('shows a missing label and missing contacts beside their fields', async () => {
      await generate('', []);
      const dialog = generateDialog();
      await textMatching(dialog.locator('#generate-label-error'), /Label must be 1 to 64 characters/);
      await textMatching(dialog.locator('#generate-contacts-error'), /at least one email address/);
      assert.equal(await dialog.getByLabel('Label', { exact: true }).getAttribute('aria-invalid'), 'true');
      assert.equal(await dialog.getByLabel('Contact email 1', { exact: true }).getAttribute('aria-invalid'), 'true');
      assert.equal(await focusedId(page), 'generate-label', 'focus on the first');
      await dialog.getByRole('button', { name: 'Cancel' }).click();
    });

    it('shows an invalid email beside the contacts', async () => {
      await generate('ci', [contact, 'not-an-email']);
      const dialog = generateDialog();
      await textMatching(dialog.locator('#generate-contacts-error'), /valid email addresses \(not-an-email is not\)/);
      assert.equal(await dialog.locator('#generate-label-error').innerText(), '', 'the label was fine');
      await dialog.getByRole('button', { name: 'Cancel' }).click();
    });

    it('shows a label already taken (in any case) beside the label', async () => {
      await generateOk('ci');
      await generate('CI', [contact]);
      const dialog = generateDialog();
      await textMatching(dialog.locator('#generate-label-error'), /already used by another key/);
      assert.equal(await dialog.getByLabel('Label', { exact: true }).getAttribute('aria-invalid'), 'true');
      await dialog.getByRole('button', { name: 'Cancel' }).click();
    });

    it('shows too many keys beside the Generate button', async () => {
      await generateOk('staging');
      await generateOk('production');
      await generate('one too many', [contact]);
      const dialog = generateDialog();
      const formError = dialog.locator('[data-error-for="_form"]');
      await textMatching(formError, new RegExp(`already have ${MAX_ACTIVE} active keys`));
      assert.equal(await dialog.locator('#generate-label-error').innerText(), '');
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      assert.equal(await page.locator('#keys-body tr').count(), MAX_ACTIVE);
    });

    it('shows an invalid email beside the contacts when editing them, and keeps the old ones', async () => {
      const ci = keyRow(page, 'ci');
      await ci.getByRole('button', { name: 'Edit contacts ci' }).click();
      const dialog = page.getByRole('dialog', { name: 'Edit contacts' });
      await dialog.getByLabel('Contact email 1', { exact: true }).fill('nobody at example');
      await dialog.getByRole('button', { name: 'Save contacts' }).click();
      await textMatching(dialog.locator('#edit-contacts-error'), /valid email addresses/);
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      await page.reload();
      await textMatching(ci, new RegExp(contact));
    });

    it('shows a taken label beside the new label when rotating', async () => {
      const ci = keyRow(page, 'ci');
      await ci.getByRole('button', { name: 'Rotate ci' }).click();
      const dialog = page.getByRole('dialog', { name: 'Rotate key' });
      await dialog.getByLabel(/Label of the new key/).fill('Staging');
      await dialog.getByRole('button', { name: 'Rotate key' }).click();
      await textMatching(dialog.locator('#rotate-label-error'), /already used by another key/);
      await dialog.getByRole('button', { name: 'Cancel' }).click();
    });

    it('sends the user back to log in when the session has ended', async () => {
      await context.clearCookies();
      await generate('after logout', [contact]);
      await textMatching(page.locator('#login-notice'), /session has ended/);
      assert.equal(await generateDialog().isVisible(), false);
      assert.equal(new URL(page.url()).pathname, '/');
    });
  });
});

/** The browser's own globals are out of this (Node) program's types: page code goes as text. */
const focusedId = (page: Page) => page.evaluate<string | undefined>('document.activeElement?.id');

/**
 * Keys as an import would leave them: a legacy key (label `default`, no last five, the fixed
 * 2024 expiry, no contacts) and one that expires in 12 days and was used recently.
 */
async function importKeys(uri: string, email: string): Promise<void> {
  const db = await mongoose.createConnection(uri).asPromise();
  try {
    const user = await db.collection('users').findOne({ email });
    assert.ok(user, 'the account exists');
    const owner = { userId: user._id.toHexString(), email, timeZone: 'Asia/Singapore' };
    const now = Date.now();
    await db.collection('keys').insertMany([
      keyDocument({
        owner,
        label: 'default',
        lastFive: '*****',
        legacy: true,
        createdAt: new Date('2023-10-21T00:00:00Z'),
        expiresAt: new Date('2024-04-21T08:00:00+08:00'),
      }),
      keyDocument({
        owner,
        label: 'staging',
        lastFive: 'Q7x2k',
        contacts: [`staging@${email.split('@')[1]}`],
        createdAt: new Date(now - 170 * DAY_MS),
        expiresAt: new Date(now + 12 * DAY_MS + 3_600_000),
        lastUsedAt: new Date(now - 2 * 3_600_000),
      }),
    ]);
  } finally {
    await db.close();
  }
}
