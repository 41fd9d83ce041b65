import mongoose from 'mongoose';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildKeyEvent, KEY_CREATED, Topic } from '@keyward/contracts';
import { isolatedEnv, ServiceProcess, sleep } from '@keyward/testing';
import { call } from './support/http';
import { keyDocument } from './support/key-documents';

/** On the local stand-in every lease scans the collection, so 500 keep the relay busy for minutes. */
const BACKLOG = 500;
/** Generous for a shared two-core machine; the backlog takes far longer, which is what is proven. */
const WITHIN_MS = 20_000;
const DAY_MS = 24 * 3_600_000;

/** A sign-in code leaves while thousands of key events wait in the outbox (a reminder burst, say). */
describe('sign-in codes never wait behind key events', () => {
  const { env, mongoUri, emailDomain } = isolatedEnv();
  let keyService: ServiceProcess;
  let db: mongoose.Connection;

  /** Keys whose events are written but not yet published, as a burst of changes leaves them. */
  async function keyEventBacklog(): Promise<void> {
    const now = new Date();
    const owner = {
      userId: new mongoose.Types.ObjectId().toHexString(),
      email: `owner@${emailDomain}`,
      timeZone: 'UTC',
    };
    const docs = Array.from({ length: BACKLOG }, (_, i) => {
      const _id = new mongoose.Types.ObjectId();
      const payload = {
        label: `burst ${i}`,
        lastFive: 'abcde',
        contacts: [`ops@${emailDomain}`],
        createdAt: now.toISOString(),
        expiresAt: new Date(now.getTime() + 180 * DAY_MS).toISOString(),
      };
      const event = buildKeyEvent(KEY_CREATED, { keyId: _id.toHexString(), owner, occurredAt: now, payload });
      return keyDocument({
        _id,
        owner,
        hash: `backlog-${_id.toHexString()}`,
        label: payload.label,
        contacts: payload.contacts,
        createdAt: now,
        expiresAt: new Date(payload.expiresAt),
        // Already scheduled, so the start-up backfill of reminder times leaves these alone.
        nextReminderAt: new Date(now.getTime() + 150 * DAY_MS),
        outbox: [{ eventId: event.eventId, topic: Topic.KeyEvents, key: event.keyId, value: JSON.stringify(event) }],
        outboxAt: now,
      });
    });
    for (let i = 0; i < docs.length; i += 500) await db.collection('keys').insertMany(docs.slice(i, i + 500));
  }

  before(async () => {
    db = await mongoose.createConnection(mongoUri('keys')).asPromise();
    await keyEventBacklog();
    keyService = await ServiceProcess.start('key-service', { ...env, MONGO_URI: mongoUri('keys') });
  });

  after(async () => {
    await keyService?.stop();
    await db?.close();
  });

  it(`publishes a login code within 20 s while ${BACKLOG} key events are still waiting`, async () => {
    const pendingKeys = () => db.collection('keys').countDocuments({ outboxAt: { $ne: null } });
    assert.ok((await pendingKeys()) > BACKLOG / 2, 'the relay is still working through the backlog');

    const asked = Date.now();
    const res = await call(keyService.url, undefined, 'POST', '/v1/auth/otp', { email: `signin@${emailDomain}` });
    assert.equal(res.status, 204, JSON.stringify(res.body));
    const codes = db.collection('login_codes');
    assert.equal(await codes.countDocuments(), 1, 'the code was written');
    for (;;) {
      if ((await codes.countDocuments({ outboxAt: null })) === 1) break;
      assert.ok(Date.now() - asked < WITHIN_MS, `the login code was not published within ${WITHIN_MS} ms`);
      await sleep(50);
    }
    const left = await pendingKeys();
    assert.ok(left > 0, `the login code left before the key-event backlog drained (${left} keys still waiting)`);
  });
});
