import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import mongoose from 'mongoose';
import { emailsSettled, isolatedEnv, Mailpit, ServiceProcess } from '@keyward/testing';
import { loggedInUser } from './support/accounts';

/** The walking skeleton: one key from the HTTP API, through the outbox and Kafka, to an email per contact. */
describe('a created key reaches its contacts by email', () => {
  const { env, mongoUri, emailDomain } = isolatedEnv();
  const mailpit = new Mailpit();
  let keyService: ServiceProcess;
  let notificationService: ServiceProcess;
  let token: string;
  let keysDb: mongoose.Connection;
  let notifications: mongoose.Connection;

  before(async () => {
    [keyService, notificationService] = await Promise.all([
      ServiceProcess.start('key-service', {
        ...env,
        MONGO_URI: mongoUri('keys'),
      }),
      ServiceProcess.start('notification-service', {
        ...env,
        MONGO_URI: mongoUri('notifications'),
      }),
    ]);
    token = await loggedInUser(mongoUri('keys'), `alice.tan@${emailDomain}`);
    [keysDb, notifications] = await Promise.all(
      [mongoUri('keys'), mongoUri('notifications')].map((uri) => mongoose.createConnection(uri).asPromise()),
    );
  });

  after(async () => {
    await Promise.all([keyService?.stop(), notificationService?.stop(), keysDb?.close(), notifications?.close()]);
  });

  it('creates the key, stores only its hash, and emails every contact once without the key', async () => {
    const contacts = [`ops@${emailDomain}`, `oncall@${emailDomain}`];
    const res = await fetch(`${keyService.url}/v1/keys`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ label: 'production', contacts }),
    });
    assert.equal(res.status, 201);
    const created = (await res.json()) as {
      id: string;
      key: string;
      lastFive: string;
      label: string;
      expiresAt: string;
    };
    assert.match(created.key, /^alicetan_v1_[0-9A-Za-z]{36}$/);
    assert.equal(created.lastFive, created.key.slice(-5));

    for (const contact of contacts) await mailpit.waitFor(contact, 1);
    // Every email asked for has left: a second one to a contact would be in Mailpit now.
    await emailsSettled({ namespace: env.KAFKA_TOPIC_NAMESPACE, keys: keysDb, notifications });
    for (const contact of contacts) {
      const messages = await mailpit.messagesTo(contact);
      assert.equal(messages.length, 1, `exactly one email to ${contact}`);
      const [email] = messages;
      assert.match(email.Subject, /production/);
      assert.ok(email.Text.includes(created.lastFive), 'text names the last five');
      assert.ok(email.HTML.includes(created.lastFive), 'html names the last five');
      assert.ok(email.Text.includes('GMT+8'), 'expiry in the owner time zone, offset written out');
      assert.ok(!email.Text.includes(created.key) && !email.HTML.includes(created.key), 'never the key itself');
    }

    const list = await fetch(`${keyService.url}/v1/keys`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const keys = (await list.json()) as Record<string, unknown>[];
    assert.equal(keys.length, 1);
    assert.equal(keys[0].lastFive, created.lastFive);
    assert.equal(keys[0].key, undefined, 'listing never shows the key');
  });
});
