import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { generateKeyPairSync } from 'node:crypto';
import {
  buildKeyEvent,
  buildLoginCodeRequested,
  DeadLetterHeader,
  DEV_KEY_EVENTS_SIGNING_KEY,
  KEY_EVENT_SIGNATURE_HEADER,
  KEY_EVENT_VERSION,
  parseSigningKey,
  signKeyEvent,
  Topic,
} from '@keyward/contracts';
import { emailsSettled, isolatedEnv, Mailpit, MailMessage, ServiceProcess, sleep } from '@keyward/testing';
import mongoose from 'mongoose';
import { sampleMessages } from '../apps/notification-service/src/emails/sample-messages';
import { NotificationKafka } from './support/notification-kafka';

const WEB_APP_URL = 'https://keyward.test';

/**
 * notification-service against the real broker, database and Mailpit: key events and login codes
 * produced straight onto the test's namespaced topics, as key-service's relay would.
 */
describe('notification-service emails', () => {
  const { env, mongoUri, emailDomain, id } = isolatedEnv();
  const namespace = env.KAFKA_TOPIC_NAMESPACE;
  const mailpit = new Mailpit();
  const kafka = new NotificationKafka(namespace);
  let service: ServiceProcess;
  let db: mongoose.Connection;

  before(async () => {
    service = await ServiceProcess.start('notification-service', {
      ...env,
      MONGO_URI: mongoUri('notifications'),
      WEB_APP_URL,
      DELIVERY_RETRY_POLL_MS: '200',
    });
    await kafka.start();
    db = await mongoose.createConnection(mongoUri('notifications')).asPromise();
  });

  after(async () => {
    await Promise.all([kafka.stop(), service?.stop(), db?.close()]);
  });

  /** Every email to addresses ending in `suffix`, once `count` arrived and every email asked for has left. */
  async function mailTo(suffix: string, count: number): Promise<MailMessage[]> {
    await mailpit.waitFor(suffix, count, { timeoutMs: 30_000 });
    await emailsSettled({ namespace: env.KAFKA_TOPIC_NAMESPACE, notifications: db });
    return mailpit.messagesTo(suffix);
  }

  it('sends each key event to exactly its recipients, with the right subject and content', async () => {
    // Each kind under its own subdomain, so its recipients can be counted apart.
    const kinds = {
      'key-created': { to: ['ops', 'oncall'], subject: /^New API key "production" \(ending Xk3p9\) created$/ },
      'key-expiring-30-days': { to: ['ops', 'oncall'], subject: /^API key "production" .* expires in 30 days$/ },
      'key-expiring-1-day-last': { to: ['ops', 'oncall'], subject: /^Last reminder: .* expires in 1 day$/ },
      'key-expired': { to: ['ops', 'oncall'], subject: /has expired$/ },
      'key-revoked': { to: ['ops', 'oncall'], subject: /was revoked$/ },
      'key-rotated': { to: ['ops', 'oncall'], subject: /was rotated$/ },
      'key-contacts-changed': {
        to: ['ops', 'oncall', 'platform'],
        subject: /contacts of|a contact of|Contacts changed/,
      },
    } as const;
    const sent = Object.entries(kinds).map(([kind, expected]) => {
      const domain = `${kind}.${emailDomain}`;
      return { kind, domain, expected, message: sampleMessages({ domain })[kind] };
    });
    for (const { message } of sent) await kafka.produce(Topic.KeyEvents, 'k-1', message);

    for (const { kind, domain, expected } of sent) {
      const emails = await mailTo(`@${domain}`, expected.to.length);
      assert.deepEqual(
        emails.map((m) => m.To.map((t) => t.Address).join()).sort(),
        expected.to.map((local) => `${local}@${domain}`).sort(),
        `${kind}: one email to each recipient, nobody else`,
      );
      for (const email of emails) {
        assert.match(email.Subject, expected.subject, kind);
        assert.ok(email.Text.includes('Xk3p9') && email.HTML.includes('Xk3p9'), `${kind}: last five`);
        assert.ok(email.Text.includes(`alice.tan@${domain}`), `${kind}: the owner's account`);
        assert.match(email.Text, /GMT\+8/, `${kind}: owner's zone, offset written out`);
        assert.ok(email.Text.includes(`${WEB_APP_URL}/settings#key-`), `${kind}: a link to the key in Settings`);
      }
    }
    const changed = await mailTo(`@key-contacts-changed.${emailDomain}`, 3);
    const subjectTo = (local: string) =>
      changed.find((m) => m.To[0].Address.startsWith(`${local}@`))?.Subject ?? '(none)';
    assert.match(subjectTo('oncall'), /^You were removed/);
    assert.match(subjectTo('platform'), /^You were added/);
    assert.match(subjectTo('ops'), /^Contacts changed/);
    const [rotated] = await mailTo(`ops@key-rotated.${emailDomain}`, 1);
    assert.match(rotated.Text, /"production \(2027-05-01\)" \(ending Qm7Tz\)/);
    assert.match(rotated.Text, /old key keeps working until Sat, 8 May 2027, 11:00 GMT\+8/);
  });

  it('emails the owner when a key has no contacts', async () => {
    const domain = `legacy.${emailDomain}`;
    const owner = { userId: 'u-legacy', email: `owner@${domain}`, timeZone: 'Asia/Singapore' };
    await kafka.produce(
      Topic.KeyEvents,
      'k-legacy',
      buildKeyEvent('KeyExpiring', {
        keyId: 'k-legacy',
        owner,
        payload: {
          label: 'default',
          lastFive: '*****',
          contacts: [],
          expiresAt: '2024-04-21T00:00:00.000Z',
          stageDays: 7,
          daysLeft: 7,
          finalReminder: false,
        },
      }),
    );
    const [email] = await mailTo(`@${domain}`, 1);
    assert.equal(email.To[0].Address, owner.email);
    assert.match(email.Text, /Sun, 21 April 2024, 08:00 GMT\+8/);
    assert.match(email.Text, /you own the account and the key has no contacts/);
  });

  it('sends one email per recipient when the same event arrives twice, and records each delivery as sent', async () => {
    const domain = `twice.${emailDomain}`;
    const event = sampleMessages({ domain })['key-created'];
    await kafka.produce(Topic.KeyEvents, 'k-1', event);
    await mailTo(`@${domain}`, 2);
    await kafka.produce(Topic.KeyEvents, 'k-1', event); // a replay after the first was handled
    // A later event on the same partition proves the replay was consumed before we count.
    const marker = sampleMessages({ domain: `after-twice.${emailDomain}` })['key-revoked'];
    await kafka.produce(Topic.KeyEvents, 'k-1', marker);
    await mailTo(`@after-twice.${emailDomain}`, 2);

    const emails = await mailTo(`@${domain}`, 2);
    assert.equal(emails.length, 2, 'one email per recipient, not two');
    const deliveries = await db.collection('deliveries').find({ eventId: event.eventId }).toArray();
    assert.equal(deliveries.length, 2);
    for (const d of deliveries) {
      assert.equal(d.status, 'sent');
      assert.equal(d.attempts, 1);
      assert.match(String(d.smtpMessageId), new RegExp(`^<${event.eventId}\\.`));
      assert.equal(d.error, null);
      assert.deepEqual(d.message, JSON.parse(JSON.stringify(event)), 'stored as the parsed message, not as its text');
    }
  });

  it('dead-letters invalid, unknown-version and unparseable messages with the reason and the bytes, and carries on', async () => {
    const domain = `after-garbage.${emailDomain}`;
    const valid = sampleMessages({ domain })['key-created'];
    const unknownVersion = JSON.stringify({ ...valid, eventId: crypto.randomUUID(), version: KEY_EVENT_VERSION + 1 });
    const withKey = JSON.stringify({ ...valid, eventId: crypto.randomUUID(), key: `alice_v1_${id}secret` });
    const garbage = Buffer.from([0x7b, 0x6e, 0x6f, 0xff, 0x00]);
    // All on one partition key, ahead of the valid event: the consumer must get past them.
    await kafka.produce(Topic.KeyEvents, 'k-1', garbage, unknownVersion, withKey, valid);

    const emails = await mailTo(`@${domain}`, 2);
    assert.equal(emails.length, 2);
    const deadline = Date.now() + 15_000;
    while (kafka.deadLetters.length < 3 && Date.now() < deadline) await sleep(100);
    const letters = kafka.deadLetters.filter(
      (l) => l.headers[DeadLetterHeader.SourceTopic] === namespace + Topic.KeyEvents,
    );
    assert.equal(letters.length, 3, 'exactly the three bad messages');
    const [g, v, k] = letters;
    assert.deepEqual(g.value, garbage, 'original bytes, untouched');
    assert.match(g.headers[DeadLetterHeader.Reason], /^invalid: not JSON/);
    assert.equal(v.value.toString(), unknownVersion);
    assert.match(v.headers[DeadLetterHeader.Reason], /^invalid: .*version/);
    assert.equal(k.value.toString(), withKey);
    assert.match(k.headers[DeadLetterHeader.Reason], /^invalid: .*key/);
    for (const letter of letters) {
      assert.equal(letter.headers[DeadLetterHeader.Consumer], 'notification-service');
      assert.match(letter.headers[DeadLetterHeader.SourceOffset], /^\d+$/);
    }
  });

  it('believes only key events signed by key-service: a forged event emails nobody and is dead-lettered', async () => {
    const domain = `forged.${emailDomain}`;
    const forged = sampleMessages({ domain: `victim.${domain}` })['key-created'];
    const genuine = sampleMessages({ domain: `genuine.${domain}` })['key-created'];
    const otherPair = generateKeyPairSync('ed25519');
    const byOtherKey = { ...forged, eventId: crypto.randomUUID() };
    const tampered = { ...forged, eventId: crypto.randomUUID() };
    const send = (value: object, signature?: string) =>
      kafka.produceMessage(Topic.KeyEvents, {
        key: 'k-forged',
        value: JSON.stringify(value),
        headers: signature ? { [KEY_EVENT_SIGNATURE_HEADER]: signature } : {},
      });
    await send(forged); // unsigned
    // Signed by a key of the attacker's, under the id key-service uses.
    await send(byOtherKey, signKeyEvent(JSON.stringify(byOtherKey), { id: 'dev', privateKey: otherPair.privateKey }));
    // key-service's own signature of another message.
    await send(tampered, signKeyEvent(JSON.stringify(genuine), parseSigningKey(DEV_KEY_EVENTS_SIGNING_KEY)));
    await kafka.produce(Topic.KeyEvents, 'k-forged', genuine); // signed, behind them on the partition

    assert.equal((await mailTo(`@genuine.${domain}`, 2)).length, 2, 'the genuine event is delivered');
    assert.deepEqual(await mailpit.messagesTo(`@victim.${domain}`), [], 'no forged event emails anyone');
    const forgedBytes = [forged, byOtherKey, tampered].map((e) => JSON.stringify(e));
    const reasonsOfForged = () =>
      kafka.deadLetters
        .filter((l) => forgedBytes.includes(l.value.toString()))
        .map((l) => l.headers[DeadLetterHeader.Reason]);
    const deadline = Date.now() + 15_000;
    while (reasonsOfForged().length < 3 && Date.now() < deadline) await sleep(100);
    const reasons = reasonsOfForged();
    assert.deepEqual(reasons, [
      'invalid: unsigned key event',
      'invalid: key event signature does not verify',
      'invalid: key event signature does not verify',
    ]);
  });

  it('emails a login code, opened from its sealed form, and dead-letters one sealed under another key', async () => {
    const email = `signin@login.${emailDomain}`;
    const expiresAt = new Date(Date.now() + 10 * 60_000);
    const request = (secret: string, code: string) =>
      buildLoginCodeRequested({ email, timeZone: 'Asia/Singapore', expiresAt, code, secret });
    const foreign = request('some-other-deployment-key-0123456789', '111111');
    const good = request('keyward-local-development-only-login-code-key', '735204');
    await kafka.produce(Topic.LoginCodes, email, foreign, good);

    const [message] = await mailTo(email, 1);
    assert.equal(message.Subject, 'Your keyward login code');
    assert.match(message.Text, /\r?\n {4}735204\r?\n/);
    assert.ok(message.HTML.includes('<code>735204</code>'));
    assert.ok(!message.Text.includes('111111'), 'the foreign code was never sent');
    const shownExpiry = new Intl.DateTimeFormat('en-GB', {
      timeZone: 'Asia/Singapore',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    }).format(expiresAt);
    assert.ok(message.Text.includes(`${shownExpiry} GMT+8`), 'expiry in the user zone');

    const deadline = Date.now() + 15_000;
    const fromLogin = () =>
      kafka.deadLetters.filter((l) => l.headers[DeadLetterHeader.SourceTopic] === namespace + Topic.LoginCodes);
    while (fromLogin().length < 1 && Date.now() < deadline) await sleep(100);
    assert.equal(fromLogin().length, 1);
    assert.match(
      fromLogin()[0].headers[DeadLetterHeader.Reason],
      /sealedCode: sealed under key \S+, which this service does not hold/,
    );
    assert.equal(fromLogin()[0].value.toString(), JSON.stringify(foreign));

    const [delivery] = await db.collection('deliveries').find({ eventId: good.eventId }).toArray();
    assert.equal(delivery.status, 'sent');
    assert.equal(delivery.keyId ?? null, null, 'a login code is about no key');
    assert.ok(!JSON.stringify(delivery).includes('735204'), 'the stored delivery keeps the code sealed');
  });
});
