import mongoose from 'mongoose';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildKeyEvent, KEY_CREATED, Topic } from '@keyward/contracts';
import { isolatedEnv, KeyEventsTap, ServiceProcess, sleep } from '@keyward/testing';
import { loggedInUser } from './support/accounts';
import { keyDocument } from './support/key-documents';

/** The outbox survives a key-service crash between a key's write and its event's publish. */
describe('key events survive a key-service crash', () => {
  const { env, mongoUri, emailDomain } = isolatedEnv();
  // A burst of creates by one account is the point here, not the per-account limit.
  const serviceEnv = { ...env, MONGO_URI: mongoUri('keys'), KEY_CHANGES_PER_HOUR: '1000' };
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

  /** Starts the tap once a key-service has created the topic, whichever test runs first. */
  let tapRunning: Promise<void> | undefined;
  const tapStarted = () => (tapRunning ??= tap.start());

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
    await db.collection('keys').insertOne(
      keyDocument({
        _id: keyId,
        owner,
        hash: `pending-${keyId.toHexString()}`,
        label: 'orphaned event',
        contacts: [`ops@${emailDomain}`],
        createdAt: now,
        expiresAt,
        outbox: [
          { eventId: event.eventId, topic: Topic.KeyEvents, key: keyId.toHexString(), value: JSON.stringify(event) },
        ],
        outboxAt: now,
      }),
    );

    const service = await ServiceProcess.start('key-service', serviceEnv);
    services.push(service);
    await tapStarted();
    const [published] = await tap.waitFor((e) => e.eventId === event.eventId);
    assert.deepEqual(published, event, 'published as written');
    await drained();
    await tap.caughtUp();
    assert.equal(tap.received.filter((t) => t.event.eventId === event.eventId).length, 1, 'exactly once');
    const doc = await db.collection('keys').findOne({ _id: keyId });
    assert.deepEqual(doc?.outbox, []);
    assert.equal(doc?.outboxAt, null);
    // No relay of this test may publish the next test's events.
    await service.stop();
  });

  it('publishes every created key’s KeyCreated after a SIGKILL in the middle of a burst of creates', async (t) => {
    // Five users at the 20-key cap: 100 creates, all of which fit if nothing dies.
    const tokens = await Promise.all(
      Array.from({ length: 5 }, (_, u) => loggedInUser(mongoUri('keys'), `frank${u}@${emailDomain}`)),
    );
    const first = await ServiceProcess.start('key-service', serviceEnv);
    services.push(first);
    await tapStarted();
    const answered: string[] = [];
    let killed: Promise<void> | undefined;
    let pendingAtKill: string[] = [];
    // Killed as soon as the 10th create is answered, while the other 90 are being written and
    // published: the outbox relay publishes after the answer, so answered keys still hold events.
    const kill = async () => {
      await first.kill();
      pendingAtKill = (
        await db
          .collection('keys')
          .find({ outboxAt: { $ne: null } })
          .toArray()
      ).map((k) => String(k._id));
    };
    const burst = tokens.flatMap((token, u) =>
      Array.from({ length: 20 }, (_, i) =>
        fetch(`${first.url}/v1/keys`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ label: `burst ${u}-${i}`, contacts: [`ops@${emailDomain}`] }),
        })
          .then(async (res) => {
            if (res.status !== 201) return;
            answered.push(((await res.json()) as { id: string }).id);
            if (answered.length === 10) killed = kill();
          })
          .catch(() => undefined),
      ),
    );
    await Promise.all(burst);
    assert.ok(killed, `the process was killed mid-burst (${answered.length} creates answered)`);
    await killed;
    t.diagnostic(`${answered.length} creates answered before the kill; ${pendingAtKill.length} keys still held events`);
    assert.ok(pendingAtKill.length >= 1, 'the kill left at least one written key with its event unpublished');
    assert.ok(answered.length < 100, 'the kill cut the burst short');

    services.push(await ServiceProcess.start('key-service', serviceEnv));
    await drained();
    await tap.caughtUp();
    const written = (
      await db
        .collection('keys')
        .find({ label: /^burst / })
        .toArray()
    ).map((k) => String(k._id));
    for (const id of answered) assert.ok(written.includes(id), 'an answered create was written');
    for (const id of pendingAtKill) assert.ok(written.includes(id), 'a key left with an event is a burst key');
    for (const id of written) {
      const created = tap.received.filter((r) => r.event.keyId === id && r.event.type === 'KeyCreated');
      assert.ok(created.length >= 1, `KeyCreated of ${id} was published`);
      assert.equal(new Set(created.map((r) => r.event.eventId)).size, 1, 'duplicates only of the same event');
    }
  });
});
