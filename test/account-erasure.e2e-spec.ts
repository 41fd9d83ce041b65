import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Kafka, KafkaMessage, logLevel } from 'kafkajs';
import { KeyEvent, parseKeyEvent, Topic } from '@keyward/contracts';
import { dumpDatabases, isolatedEnv, Mailpit, sleep, stack, until } from '@keyward/testing';
import { sampleMessages } from '../apps/notification-service/src/emails/sample-messages';
import { loggedInUser } from './support/accounts';
import { call } from './support/http';
import { KeywardSystem } from './support/keyward-system';
import { NotificationKafka } from './support/notification-kafka';
import { SmtpRig } from './support/smtp-rig';

/**
 * Closing an account, seen from notification-service (key-service and notification-service
 * running): the closure emails go out once each, then nothing in notification-service's database
 * names the owner, the contacts or the keys any more, and a redelivered event sends nothing.
 */
describe('account closure erases the deliveries of the account', () => {
  const isolated = isolatedEnv();
  const { env, mongoUri, emailDomain } = isolated;
  const mailpit = new Mailpit();
  const mail = (name: string) => `${name}@${emailDomain}`;
  const kafka = new NotificationKafka(env.KAFKA_TOPIC_NAMESPACE);
  /** Every key event, as published, for redelivering some. */
  const published: KafkaMessage[] = [];
  const tap = new Kafka({ brokers: stack.kafkaBrokers.split(','), logLevel: logLevel.NOTHING }).consumer({
    groupId: `${env.KAFKA_TOPIC_NAMESPACE}key-events-tap`,
    heartbeatInterval: 1_000,
  });
  let system: KeywardSystem;

  const api = <T = Record<string, unknown>>(token: string | undefined, method: string, path: string, body?: unknown) =>
    call<T>(system.url, token, method, path, body);
  const notificationsDump = () => dumpDatabases(mongoUri('notifications').split('/').pop()!);

  before(async () => {
    system = await KeywardSystem.start(isolated);
    await kafka.start();
    await tap.connect();
    await tap.subscribe({ topic: env.KAFKA_TOPIC_NAMESPACE + Topic.KeyEvents, fromBeginning: true });
    await tap.run({ eachMessage: async ({ message }) => void published.push(message) });
  });

  after(async () => {
    await Promise.all([system?.stop(), kafka.stop(), tap.disconnect()]);
  });

  it('sends each closure email once, then keeps nothing naming the owner or contacts; a redelivery sends nothing', async () => {
    const owner = mail('erased-owner');
    const [shared, prodOnly, retired] = [mail('erased-shared'), mail('erased-prod'), mail('erased-retired')];
    const token = await loggedInUser(mongoUri('keys'), owner);
    const key = async (label: string, contacts: string[]) => {
      const res = await api<{ id: string }>(token, 'POST', '/v1/keys', { label, contacts });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      return res.body.id;
    };
    const prod = await key('erasure-prod', [shared, prodOnly]);
    const staging = await key('erasure-staging', [shared]);
    // Revoked before: no closure email, but its earlier emails name the owner's contact and label.
    const old = await key('erasure-retired', [retired]);
    assert.equal((await api(token, 'DELETE', `/v1/keys/${old}`)).status, 204);
    // A login code emailed to the owner's address is about the account too.
    assert.equal((await api(undefined, 'POST', '/v1/auth/otp', { email: owner })).status, 204);
    await system.settled();
    const named = ['erased-owner@', 'erased-shared@', 'erased-prod@', 'erased-retired@', 'erasure-'];
    const naming = async () =>
      (await notificationsDump()).filter(({ text }) => named.some((s) => text.includes(s))).map(({ where }) => where);
    assert.ok((await naming()).length > 0, 'the account’s deliveries are recorded before the closure');

    assert.equal((await api(token, 'POST', '/v1/account/closure-code')).status, 202);
    await system.settled();
    const codeEmail = (await mailpit.messagesTo(owner)).find((m) => /close your keyward account/.test(m.Subject));
    const code = /\b(\d{6})\b/.exec(codeEmail?.Text ?? '')?.[1];
    assert.ok(code, 'the closure code was emailed');
    assert.equal((await api(token, 'DELETE', '/v1/account', { code })).status, 204);
    await system.settled();

    const closureEmails = async (to: string) =>
      (await mailpit.messagesTo(to)).filter((m) => /its keyward account was closed/.test(m.Subject)).length;
    assert.deepEqual(
      [await closureEmails(shared), await closureEmails(prodOnly), await closureEmails(retired)],
      [2, 1, 0],
      'one closure email per contact and working key',
    );
    const deadline = Date.now() + 30_000;
    while ((await naming()).length > 0) {
      assert.ok(Date.now() < deadline, `nothing names the account: ${(await naming()).join(', ')}`);
      await sleep(200);
    }
    assert.equal(
      await system.notificationsDb.collection('deliveries').countDocuments({ keyId: { $in: [prod, staging, old] } }),
      0,
    );
    const erased = await system.notificationsDb.collection('erased_events').find().toArray();
    assert.equal(erased.length, 8, 'every erased event is remembered: 4 earlier key events, 2 closures, 2 codes');
    for (const e of erased) assert.deepEqual(Object.keys(e).sort(), ['_id', 'erasedAt', 'eventType']);

    // Kafka delivers again (a consumer restart before its commit, a replay): the closure events and an older one.
    const closures = published.filter((m) => {
      const event = parseKeyEvent(m.value);
      return event.type === 'KeyRevoked' && event.payload.accountClosed;
    });
    assert.equal(closures.length, 2, 'one closure event per working key');
    const created = published.find((m) => parseKeyEvent(m.value).type === 'KeyCreated');
    const mailBefore = await Promise.all([owner, shared, prodOnly, retired].map((to) => mailpit.messagesTo(to)));
    for (const m of [...closures, created!]) {
      await kafka.produceMessage(Topic.KeyEvents, { key: String(m.key), value: String(m.value), headers: m.headers! });
    }
    await kafka.caughtUp('notification-service', Topic.KeyEvents);
    await system.settled();
    const mailAfter = await Promise.all([owner, shared, prodOnly, retired].map((to) => mailpit.messagesTo(to)));
    assert.deepEqual(
      mailAfter.map((m) => m.length),
      mailBefore.map((m) => m.length),
      'a redelivered event sends nothing',
    );
    assert.deepEqual(await naming(), [], 'and records nothing');
  });
});

/**
 * The closure emails that cannot go at once, against notification-service alone and a Mailpit of
 * this test's own (stopped and restarted; it refuses addresses starting with "r").
 */
describe('account closure erasure while SMTP fails', () => {
  const isolated = isolatedEnv();
  const { emailDomain } = isolated;
  let rig: SmtpRig;

  before(async () => {
    rig = await SmtpRig.start(isolated);
  });

  after(async () => {
    await rig?.stop();
  });

  it('erases a closure email left for a retry once it is sent, and a refused one once it failed', async () => {
    const domain = `retry.${emailDomain}`;
    const samples = sampleMessages({ domain, label: 'erasure-retry' });
    // Another key of the same owner, emailed earlier: found by the owner id in its recorded message.
    const earlier = { ...samples['key-created'], keyId: 'k-earlier' };
    const closure = samples['key-revoked-account-closed'] as KeyEvent<'KeyRevoked'>;
    const [waiting, refused] = [`waiting@${domain}`, `refused@${domain}`];
    closure.payload.contacts = [waiting, refused];
    const deliveries = () => rig.db.collection('deliveries').find().toArray();

    await rig.kafka.produce(Topic.KeyEvents, earlier.keyId, earlier);
    await until(
      'the earlier emails sent',
      async () => (await deliveries()).filter((d) => d.status === 'sent').length === 2,
      30_000,
    );

    await rig.smtp.stop();
    await rig.kafka.produce(Topic.KeyEvents, closure.keyId, closure);
    await until(
      'the earlier deliveries erased while the closure emails wait for a retry',
      async () => {
        const all = await deliveries();
        return all.length === 2 && all.every((d) => d.eventId === closure.eventId && d.status !== 'sent')
          ? true
          : JSON.stringify(all.map((d) => [d.recipient, d.status]));
      },
      30_000,
    );
    assert.deepEqual(
      (await deliveries()).map((d) => d.eraseWhenFinished),
      [true, true],
      'marked to be erased once finished',
    );

    await rig.smtp.resume();
    await until(
      'the closure deliveries erased once sent or refused',
      async () => (await deliveries()).length === 0,
      30_000,
    );
    assert.deepEqual(
      (await rig.mailpit.messagesTo(waiting)).map((m) => m.Subject),
      ['API key "erasure-retry" (ending Xk3p9) no longer works: its keyward account was closed'],
    );
    assert.deepEqual(await rig.mailpit.messagesTo(refused), []);
    assert.equal(await rig.db.collection('delivery_attempts').countDocuments(), 0, 'their attempts are erased too');
    assert.deepEqual(
      (await rig.db.collection('erased_events').find().toArray()).map((e) => e._id).sort(),
      [earlier.eventId, closure.eventId].sort(),
    );

    await rig.kafka.produce(Topic.KeyEvents, closure.keyId, closure);
    await rig.kafka.caughtUp('notification-service', Topic.KeyEvents);
    await rig.settled();
    assert.equal((await rig.mailpit.messagesTo(waiting)).length, 1, 'a redelivered closure sends nothing');
    assert.deepEqual(await deliveries(), [], 'and records nothing');
  });
});
