import mongoose from 'mongoose';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildKeyEvent, KEY_CREATED, Topic } from '@keyward/contracts';
import { isolatedEnv, KeyEventsTap, ServiceProcess, sleep } from '@keyward/testing';
import { loggedInUser } from './support/accounts';

/** The outbox survives a key-service crash between a key's write and its event's publish. */
describe('key events survive a key-service crash', () => {
  const { env, mongoUri, emailDomain } = isolatedEnv();
  const serviceEnv = { ...env, MONGO_URI: mongoUri('keys') };
  const tap = new KeyEventsTap(env.KAFKA_TOPIC_NAMESPACE);
  const services: ServiceProcess[] = [];
  let db: mongoose.Connection;

  async function drained(): Promise<void> {
    for (let i = 0; i < 600; i++) {
      if ((await db.collection('keys').countDocuments({ outboxAt: { $ne: null } })) === 0) return;
      await sleep(50);
    }
    throw new Error('outboxes still hold events after 30 s');
  }

  before(async () => {
    db = await mongoose.createConnection(mongoUri('keys')).asPromise();
  });

  after(async () => {
    await tap.stop();
    for (const service of services) await service.stop();
    await db?.close();
  });

  it('publishes, exactly once, an event left in a key document by a process killed before its publish', async () => {
    // Exactly what a key-service killed after its write and before its publish leaves behind.
    const keyId = new mongoose.Types.ObjectId();
    const now = new Date();
    const owner = {
      userId: new mongoose.Types.ObjectId().toHexString(),
      email: `erin@${emailDomain}`,
      timeZone: 'Asia/Singapore',
    };
    const expiresAt = new Date(now.getTime() + 180 * 24 * 3_600_000);
    const event = buildKeyEvent(KEY_CREATED, {
      keyId: keyId.toHexString(),
      owner,
      occurredAt: now,
      payload: {
        label: 'orphaned event',
        lastFive: 'abcde',
        contacts: [`ops@${emailDomain}`],
        createdAt: now.toISOString(),
        expiresAt: expiresAt.toISOString(),
      },
    });
    await db.collection('keys').insertOne({
      _id: keyId,
      owner,
      hash: `pending-${keyId.toHexString()}`,
      lastFive: 'abcde',
      label: 'orphaned event',
      labelKey: 'orphaned event',
      contacts: [`ops@${emailDomain}`],
      createdAt: now,
      expiresAt,
      status: 'active',
      lastUsedAt: null,
      revokedAt: null,
      legacy: false,
      outbox: [
        { eventId: event.eventId, topic: Topic.KeyEvents, key: keyId.toHexString(), value: JSON.stringify(event) },
      ],
      outboxAt: now,
    });

    services.push(await ServiceProcess.start('key-service', serviceEnv));
    await tap.start();
    const [published] = await tap.waitFor((e) => e.eventId === event.eventId);
    assert.deepEqual(published, event, 'published as written');
    await drained();
    await tap.caughtUp();
    assert.equal(tap.received.filter((t) => t.event.eventId === event.eventId).length, 1, 'exactly once');
    const doc = await db.collection('keys').findOne({ _id: keyId });
    assert.deepEqual(doc?.outbox, []);
    assert.equal(doc?.outboxAt, null);
  });

  it('publishes every created key’s KeyCreated after a SIGKILL in the middle of a burst of creates', async (t) => {
    const token = await loggedInUser(mongoUri('keys'), `frank@${emailDomain}`);
    const first = services[0];
    const answered: string[] = [];
    const burst = Array.from({ length: 40 }, (_, i) =>
      fetch(`${first.url}/v1/keys`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ label: `burst ${i}`, contacts: [`ops@${emailDomain}`] }),
      })
        .then(async (res) => {
          if (res.status === 201) answered.push(((await res.json()) as { id: string }).id);
        })
        .catch(() => undefined),
    );
    while (answered.length < 10) await sleep(5);
    await first.kill();
    await Promise.all(burst);
    const pendingAtCrash = await db.collection('keys').countDocuments({ outboxAt: { $ne: null } });
    t.diagnostic(`${answered.length} creates answered before the kill; ${pendingAtCrash} keys still held events`);

    services.push(await ServiceProcess.start('key-service', serviceEnv));
    await drained();
    await tap.caughtUp();
    const written = (
      await db
        .collection('keys')
        .find({ label: /^burst / })
        .toArray()
    ).map((k) => String(k._id));
    assert.ok(written.length >= answered.length);
    for (const id of answered) assert.ok(written.includes(id), 'an answered create was written');
    for (const id of written) {
      const created = tap.received.filter((r) => r.event.keyId === id && r.event.type === 'KeyCreated');
      assert.ok(created.length >= 1, `KeyCreated of ${id} was published`);
      assert.equal(new Set(created.map((r) => r.event.eventId)).size, 1, 'duplicates only of the same event');
    }
  });
});
