import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AnyKeyEvent, InvalidMessageError, LoginCodeRequested } from '@keyward/contracts';
import { TemplatesService } from '../templates/templates.service';
import { formatInZone } from './email-context';
import { NotificationMessage } from './emails.service';
import { SAMPLE_LOGIN_CODE, SAMPLE_SEALING_KEY, sampleEmails, sampleMessages } from './sample-messages';

const emailsService = (sealingKey = SAMPLE_SEALING_KEY) => sampleEmails({ webAppUrl: 'https://app.test/', sealingKey });

const emails = emailsService();
const samples = sampleMessages();
const render = (message: NotificationMessage, to?: string) =>
  emails.compose(message, to ?? emails.recipients(message)[0].address);

describe('emails', () => {
  it('renders every sample for every recipient: one-line subject, label, last five, zone, why, link', () => {
    for (const [name, message] of Object.entries(samples)) {
      for (const { address } of emails.recipients(message)) {
        const email = emails.compose(message, address);
        assert.doesNotMatch(email.subject, /[\r\n]/, name);
        assert.match(email.text, /GMT\+8/, `${name}: time in the owner's zone with the offset`);
        assert.match(email.text, /You receive this email because /, `${name}: says why`);
        assert.match(email.html, /<!doctype html>/, name);
        assert.doesNotMatch(email.text, /&(amp|lt|gt|quot|#x27);/, `${name}: text is not HTML-escaped`);
        if (message.type === 'LoginCodeRequested' || message.type === 'AccountClosureCodeRequested') continue;
        for (const body of [email.text, email.html]) {
          assert.ok(body.includes('production') && body.includes('Xk3p9'), `${name}: label and last five`);
          assert.ok(body.includes('alice.tan@example.com'), `${name}: the owner's account`);
        }
        // The key of a closed account is in no account any more: nothing to link to.
        if (name === 'key-revoked-account-closed') continue;
        const keyId = message.type === 'KeyRotated' ? 'k-2' : 'k-1';
        assert.ok(email.text.includes(`https://app.test/settings#key-${keyId}`), `${name}: link to the key`);
        assert.ok(email.html.includes(`href="https://app.test/settings#key-${keyId}"`), name);
      }
    }
  });

  it('addresses key events to their contacts, or to the owner when there are none', () => {
    const created = samples['key-created'] as AnyKeyEvent & { type: 'KeyCreated' };
    assert.deepEqual(
      emails.recipients(created).map((r) => r.address),
      ['ops@example.com', 'oncall@example.com'],
    );
    const legacy = { ...created, payload: { ...created.payload, contacts: [] } };
    assert.deepEqual(
      emails.recipients(legacy).map((r) => r.address),
      ['alice.tan@example.com'],
    );
    assert.match(render(legacy).text, /you own the account and the key has no contacts/);
    assert.throws(() => emails.compose(created, 'stranger@example.com'), /not a recipient/);
  });

  it('states the expiry, days left and what to do in a created-key email', () => {
    const { subject, text } = render(samples['key-created']);
    assert.equal(subject, 'New API key "production" (ending Xk3p9) created');
    assert.match(text, /works until Thu, 27 May 2027, 10:00 GMT\+8, in 181 days/);
    assert.match(text, /Review this key in Settings: https:\/\/app.test\/settings#key-k-1/);
  });

  it('escalates reminders with the stage, and says when it is the last', () => {
    const thirty = render(samples['key-expiring-30-days']);
    const seven = render(samples['key-expiring-7-days']);
    const three = render(samples['key-expiring-3-days']);
    const last = render(samples['key-expiring-1-day-last']);
    assert.equal(thirty.subject, 'API key "production" (ending Xk3p9) expires in 30 days');
    assert.match(thirty.text, /There is time/);
    assert.match(thirty.text, /reminded again/);
    assert.equal(seven.subject, 'Reminder: API key "production" (ending Xk3p9) expires in 7 days');
    assert.match(seven.text, /rotate it soon/);
    assert.equal(three.subject, 'Action needed: API key "production" (ending Xk3p9) expires in 3 days');
    assert.match(three.text, /Rotate your API key now/);
    assert.match(three.text, /reminded again/);
    assert.equal(last.subject, 'Last reminder: API key "production" (ending Xk3p9) expires in 1 day');
    assert.match(last.text, /Requests using this key will be refused from Thu, 27 May 2027, 10:00 GMT\+8/);
    assert.match(last.text, /This is the last reminder/);
    assert.doesNotMatch(last.text, /reminded again/);
    for (const calm of [thirty, seven]) assert.doesNotMatch(calm.text, /last reminder|refused/i);
  });

  it('tells removed contacts they were removed and new ones they were added', () => {
    const changed = samples['key-contacts-changed'];
    assert.deepEqual(
      emails.recipients(changed).map((r) => r.address),
      ['ops@example.com', 'oncall@example.com', 'platform@example.com'],
    );
    const removed = emails.compose(changed, 'oncall@example.com');
    const added = emails.compose(changed, 'platform@example.com');
    const kept = emails.compose(changed, 'ops@example.com');
    assert.match(removed.subject, /^You were removed from the contacts of API key "production"/);
    assert.match(removed.text, /You will not receive reminders/);
    assert.match(removed.text, /because you were removed from its contacts/);
    assert.match(added.subject, /^You were added as a contact of API key "production"/);
    assert.match(added.text, /You will receive its expiry reminders/);
    // Who else is on the key is shown only to contacts who stay.
    for (const email of [removed, added]) {
      for (const body of [email.text, email.html]) {
        assert.ok(!body.includes('ops@example.com') && !body.includes(email === added ? 'oncall' : 'platform'), body);
      }
    }
    assert.match(kept.subject, /^Contacts changed for API key/);
    assert.match(kept.text, /Added: {4}platform@example.com\n {2}Removed: {2}oncall@example.com/);
    assert.match(kept.text, /- ops@example.com\n {2}- platform@example.com/);
  });

  it('says in every footer who caused the email and how to reach the account owner', () => {
    for (const [name, message] of Object.entries(samples)) {
      const { text, html } = render(message);
      if (message.type === 'LoginCodeRequested') {
        assert.match(text, /Sent because this address was entered on keyward's sign-in page/, name);
        continue;
      }
      if (message.type === 'AccountClosureCodeRequested') {
        assert.match(text, /Sent because closing this account was asked for in keyward's Settings/, name);
        continue;
      }
      const cause =
        message.type === 'KeyExpiring' || message.type === 'KeyExpired'
          ? /Sent automatically by keyward for the keyward account alice\.tan@example\.com\./
          : name === 'key-revoked-account-closed'
            ? /Sent because the keyward account alice\.tan@example\.com was closed\./
            : /Sent because the keyward account alice\.tan@example\.com changed this key\./;
      for (const body of [text, html]) {
        const footer = body.slice(body.lastIndexOf('You receive this email because'));
        assert.match(footer, cause, name);
        assert.match(footer, /Write to the account owner at alice\.tan@example\.com\./, name);
      }
    }
  });

  it('names the new key of a rotation and when the old one stops working', () => {
    const { subject, text, html } = render(samples['key-rotated']);
    assert.equal(subject, 'API key "production" (ending Xk3p9) was rotated');
    assert.match(
      text,
      /new key, "production \(2027-05-01\)" \(ending Qm7Tz\), which works until Mon, 1 November 2027, 11:00 GMT\+8/,
    );
    assert.match(text, /The old key keeps working until Sat, 8 May 2027, 11:00 GMT\+8/);
    assert.match(html, /Qm7Tz/);
  });

  it('says revoked and expired keys stopped working', () => {
    assert.match(
      render(samples['key-revoked']).text,
      /revoked on Sun, 10 January 2027, 17:30 GMT\+8\. It stopped working at once/,
    );
    const expired = render(samples['key-expired']);
    assert.equal(expired.subject, 'API key "production" (ending Xk3p9) has expired');
    assert.match(expired.text, /expired on Thu, 27 May 2027, 10:00 GMT\+8/);
  });

  it('tells the contacts and the owner of a leak once, with the address as text and what was done', () => {
    const revoked = samples['key-leaked'];
    const notified = samples['key-leaked-notify-only'] as AnyKeyEvent & { type: 'KeyLeaked' };
    assert.deepEqual(
      emails.recipients(revoked).map((r) => r.address),
      ['ops@example.com', 'oncall@example.com', 'alice.tan@example.com'],
    );
    const forOwner = emails.compose(revoked, 'alice.tan@example.com');
    assert.equal(forOwner.subject, 'Leaked API key "production" (ending Xk3p9) was revoked');
    assert.match(forOwner.text, /because you own the account/);
    assert.match(
      forOwner.text,
      /Found at: {4}https\[:\]\/\/github\[\.\]com\/alicetan\/mailer\/blob\/4f2c9e1\/config\/settings\.env\n/,
    );
    assert.match(forOwner.text, /GitHub secret scanning reported it on Tue, 12 January 2027, 14:45 GMT\+8/);
    assert.match(forOwner.text, /It revoked the key at once/);
    for (const body of [forOwner.text, forOwner.html]) assert.ok(!body.includes('https://github.com'), 'never a link');
    assert.doesNotMatch(forOwner.html, /href="[^"]*github/);

    const notice = render(notified);
    assert.equal(notice.subject, 'API key "production" (ending Xk3p9) leaked: rotate it now');
    assert.match(notice.text, /"notify only", so it still works/);
    assert.match(notice.text, /Rotate this key in Settings: https:\/\/app.test\/settings#key-k-1/);
    const owned = { ...notified, payload: { ...notified.payload, contacts: ['alice.tan@example.com'] } };
    assert.deepEqual(
      emails.recipients(owned).map((r) => r.address),
      ['alice.tan@example.com'],
      'the owner as a contact hears once',
    );
  });

  it('sends no revoked email for a revocation caused by a leak (the leak email says it)', () => {
    const revoked = samples['key-revoked'] as AnyKeyEvent & { type: 'KeyRevoked' };
    assert.deepEqual(emails.recipients({ ...revoked, payload: { ...revoked.payload, cause: 'leak' } }), []);
    assert.equal(emails.recipients({ ...revoked, payload: { ...revoked.payload, cause: 'owner' } }).length, 2);
    const before = { ...revoked, payload: { ...revoked.payload } };
    delete before.payload.cause;
    assert.equal(emails.recipients(before).length, 2, 'events written before causes');
  });

  it('shows a login code only in the body, with its expiry in the user zone', () => {
    const message = samples['login-code'] as LoginCodeRequested;
    assert.ok(!JSON.stringify(message).includes(SAMPLE_LOGIN_CODE), 'sealed on the wire');
    const { subject, text, html } = render(message);
    assert.equal(subject, 'Your keyward login code');
    assert.match(text, new RegExp(`\\n {4}${SAMPLE_LOGIN_CODE}\\n`));
    assert.match(html, new RegExp(`<code>${SAMPLE_LOGIN_CODE}</code>`));
    assert.match(text, /until Fri, 27 November 2026, 10:10 GMT\+8 \(about 10 minutes\)/);
    assert.deepEqual(emails.recipients(message), [
      { address: 'alice.tan@example.com', reason: 'you asked to sign in' },
    ]);
    assert.throws(
      () => emailsService('another-key-of-at-least-32-characters!!').compose(message, message.email),
      InvalidMessageError,
    );
    assert.equal(emails.isStale(message, new Date('2026-11-27T02:09:59Z')), false);
    assert.equal(emails.isStale(message, new Date('2026-11-27T02:10:00Z')), true);
    assert.equal(emails.isStale(samples['key-created'], new Date('2099-01-01')), false);
  });

  it('tells each contact of a closed account’s key that the account was closed and the key no longer works', () => {
    const closed = samples['key-revoked-account-closed'];
    assert.deepEqual(
      emails.recipients(closed).map((r) => r.address),
      ['ops@example.com', 'oncall@example.com'],
    );
    const { subject, text } = emails.compose(closed, 'ops@example.com');
    assert.equal(subject, 'API key "production" (ending Xk3p9) no longer works: its keyward account was closed');
    assert.match(text, /The keyward account alice\.tan@example\.com was closed on Sun, 10 January 2027, 17:30 GMT\+8/);
    assert.match(text, /stopped working at once/);
    assert.match(text, /Sent because the keyward account alice\.tan@example\.com was closed\./);
    assert.doesNotMatch(text, /Open Settings/, 'nothing is left to open');
  });

  it('emails a closure code only to the account, saying what it does and that it cannot sign in', () => {
    const message = samples['account-closure-code'];
    assert.ok(!JSON.stringify(message).includes(SAMPLE_LOGIN_CODE), 'sealed on the wire');
    const { subject, text } = emails.compose(message, 'alice.tan@example.com');
    assert.equal(subject, 'Your code to close your keyward account');
    assert.match(text, new RegExp(`\\n {4}${SAMPLE_LOGIN_CODE}\\n`));
    assert.match(text, /close the keyward account alice\.tan@example\.com for good/);
    assert.match(text, /cannot be used to sign in/);
    assert.deepEqual(emails.recipients(message), [
      { address: 'alice.tan@example.com', reason: 'you asked to close your account' },
    ]);
    assert.equal(emails.isStale(message, new Date('2026-11-27T02:10:00Z')), true);
  });

  it('escapes a hostile label in HTML, keeps it off the subject line breaks, and leaves text unmangled', () => {
    const label = '<b>Ops</b> & "R&D"\r\nBcc: evil@example.net';
    for (const [name, message] of Object.entries(sampleMessages({ label }))) {
      if (message.type === 'LoginCodeRequested' || message.type === 'AccountClosureCodeRequested') continue;
      for (const { address } of emails.recipients(message)) {
        const { subject, html, text } = emails.compose(message, address);
        assert.doesNotMatch(subject, /[\r\n]/, `${name}: no header injection`);
        assert.ok(subject.includes('<b>Ops</b> & "R&D" Bcc: evil@example.net'), `${name}: subject keeps the text`);
        assert.ok(!html.includes('<b>Ops</b>'), `${name}: no markup from the label`);
        assert.ok(html.includes('&lt;b&gt;Ops&lt;/b&gt; &amp; &quot;R&amp;D&quot;'), `${name}: escaped in HTML`);
        const title = /<title>([^<]*)<\/title>/.exec(html)?.[1] ?? '';
        assert.ok(title.includes('&lt;b&gt;Ops&lt;/b&gt;'), `${name}: subject escaped in the HTML title`);
        // Every place the label appears in text, including the summary and "why" partials, is verbatim.
        const verbatim = text.split('<b>Ops</b> & "R&D"\r\nBcc: evil@example.net').length - 1;
        assert.ok(verbatim >= 2, `${name}: label verbatim in text body and partials (${verbatim})`);
        assert.doesNotMatch(text, /&(amp|lt|gt|quot|#x27);/, `${name}: text not entity-mangled`);
      }
    }
  });

  it('formats times in the owner zone with the offset written out', () => {
    const at = '2027-05-27T02:00:00.000Z';
    assert.equal(formatInZone(at, 'Asia/Singapore'), 'Thu, 27 May 2027, 10:00 GMT+8');
    assert.equal(formatInZone(at, 'America/New_York'), 'Wed, 26 May 2027, 22:00 GMT-4');
    assert.equal(formatInZone('2027-01-27T02:00:00.000Z', 'America/New_York'), 'Tue, 26 January 2027, 21:00 GMT-5');
    assert.equal(formatInZone(at, 'Asia/Kolkata'), 'Thu, 27 May 2027, 07:30 GMT+5:30');
    const ny = emails.compose(sampleMessages({ timeZone: 'America/New_York' })['key-created'], 'ops@example.com');
    assert.match(ny.text, /works until Wed, 26 May 2027, 22:00 GMT-4/);
    assert.doesNotMatch(ny.text, /GMT\+8/);
  });

  it('has a template for every message kind and refuses an unknown one', () => {
    const templates = new TemplatesService();
    templates.onModuleInit();
    assert.deepEqual(templates.names(), [
      'account-closure-code',
      'key-contacts-changed',
      'key-created',
      'key-expired',
      'key-expiring',
      'key-leaked',
      'key-revoked',
      'key-revoked-account-closed',
      'key-rotated',
      'login-code',
    ]);
    assert.throws(() => templates.render('key-exploded', {}), /no email template/);
  });
});
