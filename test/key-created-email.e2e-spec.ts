import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isolatedEnv, Mailpit } from '@keyward/testing';
import { loggedInUser } from './support/accounts';
import { KeywardSystem } from './support/keyward-system';

/** The walking skeleton: one key from the HTTP API, through the outbox and Kafka, to an email per contact. */
describe('a created key reaches its contacts by email', () => {
  const isolated = isolatedEnv();
  const { mongoUri, emailDomain } = isolated;
  const mailpit = new Mailpit();
  let system: KeywardSystem;
  let token: string;

  before(async () => {
    system = await KeywardSystem.start(isolated);
    token = await loggedInUser(mongoUri('keys'), `alice.tan@${emailDomain}`);
  });

  after(async () => {
    await system?.stop();
  });

  it('creates the key, stores only its hash, and emails every contact once without the key', async () => {
    const contacts = [`ops@${emailDomain}`, `oncall@${emailDomain}`];
    const res = await fetch(`${system.url}/v1/keys`, {
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
    await system.settled();
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

    const list = await fetch(`${system.url}/v1/keys`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const keys = (await list.json()) as Record<string, unknown>[];
    assert.equal(keys.length, 1);
    assert.equal(keys[0].lastFive, created.lastFive);
    assert.equal(keys[0].key, undefined, 'listing never shows the key');
  });
});
