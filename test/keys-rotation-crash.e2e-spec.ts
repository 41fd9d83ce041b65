import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isolatedEnv, KeyEventsTap, ServiceProcess, sleep } from '@keyward/testing';
import mongoose from 'mongoose';
import { KeyStatus } from '../apps/key-service/src/keys/key.schema';
import { KeysRepository } from '../apps/key-service/src/keys/keys.repository';
import { KeyRotation } from '../apps/key-service/src/keys/key-rotation.service';
import { UsersRepository } from '../apps/key-service/src/users/users.repository';
import { OutboxRelayService } from '../apps/key-service/src/outbox/outbox-relay.service';
import { loggedInUser } from './support/accounts';
import { FerretDbServer } from './support/ferretdb-server';
import { call } from './support/http';
import { keyDocument } from './support/key-documents';
import { InProcessKeyService } from './support/key-services';

/**
 * A rotation whose request stops for good between its commit (the old key rotated, its KeyRotated in
 * the outbox) and the activation of the replacement, as a crash there leaves it: the outbox relay
 * activates the replacement when it publishes the KeyRotated, so the key the contacts were told of
 * is listed and usable instead of pending forever.
 */
describe('a rotation interrupted between its commit and its activation', () => {
  const { env, emailDomain } = isolatedEnv();
  const tap = new KeyEventsTap(env.KAFKA_TOPIC_NAMESPACE);
  let keyService: InProcessKeyService;
  let db: mongoose.Connection;
  let token: string;
  // A database of its own: the shared one, busy with every other test, can stall for a minute.
  let database: FerretDbServer;
  let settings: Record<string, string>;
  /** The active-key cap's leases (KeyCap), as stored. */
  const capLeases = () =>
    db.collection<{ _id: string; holder: string; until: Date; bound?: number; boundBy?: string }>('key_cap_leases');

  before(async () => {
    database = await FerretDbServer.start();
    const mongoUri = (name: string) => database.uri(name);
    // The relay passes only when nudged (or a minute later): this test decides when it runs.
    settings = { ...env, MONGO_URI: mongoUri('keys'), OUTBOX_POLL_MS: '60000' };
    InProcessKeyService.configure({ ...settings, LOG_LEVEL: 'warn' });
    keyService = await InProcessKeyService.start();
    db = await mongoose.createConnection(mongoUri('keys')).asPromise();
    token = await loggedInUser(mongoUri('keys'), `dana@${emailDomain}`);
    await tap.start();
  });

  after(async () => {
    await tap.stop();
    await keyService?.stop();
    await db?.close();
    await database?.stop();
  });

  it('activates the replacement when the relay publishes its KeyRotated: listed, active, named by the event', async () => {
    const created = await call<{ id: string }>(keyService.url, token, 'POST', '/v1/keys', {
      label: 'interrupted',
      contacts: [`ops@${emailDomain}`],
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const oldId = created.body.id;
    const relay = keyService.get(OutboxRelayService);
    await relay.drain();

    // The request stops where a crash would stop it, at the activation, and the relay waits meanwhile.
    const keys = keyService.get(KeysRepository);
    const activate = keys.activateReplacement.bind(keys);
    const nudge = relay.nudge.bind(relay);
    relay.nudge = () => undefined;
    let release!: () => void;
    const stopped = new Promise<string>((reached) => {
      keys.activateReplacement = (id: string) => {
        keys.activateReplacement = activate;
        reached(id);
        // Held until the end of the test, then let go so the server can close.
        return new Promise<boolean>((resolve) => (release = () => resolve(false)));
      };
    });
    // In process rather than over HTTP, so the stopped request holds no connection open.
    const account = await db.collection('users').findOne({ email: `dana@${emailDomain}` });
    const owner = await keyService.get(UsersRepository).findById(String(account?._id));
    assert.ok(owner);
    const rotation = keyService.get(KeyRotation).rotate(owner, oldId, { graceHours: 1 });
    const newId = await stopped;

    const [old, replacement] = await Promise.all(
      [oldId, newId].map((id) => db.collection('keys').findOne({ _id: new mongoose.Types.ObjectId(id) })),
    );
    assert.equal(old?.rotatedTo, newId, 'the rotation committed');
    assert.equal(old?.outbox.length, 1, 'its KeyRotated waits in the outbox');
    assert.equal(replacement?.status, 'pending', 'the replacement is not active yet');
    assert.equal((await call(keyService.url, token, 'GET', `/v1/keys/${newId}`)).status, 404);

    relay.nudge = nudge;
    await relay.drain();
    const [rotated] = await tap.waitFor((e) => e.keyId === oldId && e.type === 'KeyRotated');
    assert.ok(rotated.type === 'KeyRotated');
    assert.equal(rotated.payload.newKeyId, newId);
    const got = await call<{ status: string }>(keyService.url, token, 'GET', `/v1/keys/${newId}`);
    assert.equal(got.status, 200);
    assert.equal(got.body.status, 'active');
    const listed = await call<{ id: string }[]>(keyService.url, token, 'GET', '/v1/keys');
    assert.ok(
      listed.body.some((k) => k.id === newId),
      'listed',
    );
    assert.deepEqual(tap.ofKey(newId), [], 'announced by the KeyRotated only');

    // Let go at the end only, so the service can close: meanwhile nothing but the relay moved it.
    release();
    assert.equal((await rotation).id, newId);
    // The relay made a key work outside the cap's lease: the rotation's release left no bound to believe.
    const lease = await capLeases().findOne({ _id: owner.id as string });
    assert.ok(lease && lease.boundBy !== lease.holder, 'the account’s next change counts its keys');
  });

  it('activates at start-up a replacement the previous version left pending after publishing its rotation', async () => {
    // As the previous version left it: the rotation committed and its KeyRotated published (the
    // outbox is empty), the process killed before the activation.
    const owner = {
      userId: new mongoose.Types.ObjectId().toHexString(),
      email: `erin@${emailDomain}`,
      timeZone: 'UTC',
    };
    const replacement = keyDocument({ owner, contacts: [`ops@${emailDomain}`], status: KeyStatus.Pending });
    const old = keyDocument({ owner, contacts: [`ops@${emailDomain}`], rotatedTo: replacement._id.toHexString() });
    const unfinished = keyDocument({ owner, contacts: [`ops@${emailDomain}`] });
    const claim = keyDocument({ owner, status: KeyStatus.Pending, replaces: unfinished._id.toHexString() });
    replacement.replaces = old._id.toHexString();
    await db.collection('keys').insertMany([old, replacement, unfinished, claim]);
    // A bound of the account's working keys, released by its writer before the replacement worked.
    await capLeases().insertOne({
      _id: owner.userId,
      holder: 'writer',
      until: new Date(0),
      bound: 2,
      boundBy: 'writer',
    });

    const restarted = await ServiceProcess.start('key-service', settings);
    try {
      const status = async (id: mongoose.Types.ObjectId) => (await db.collection('keys').findOne({ _id: id }))?.status;
      const deadline = Date.now() + 30_000;
      while ((await status(replacement._id)) !== 'active') {
        assert.ok(Date.now() < deadline, 'the replacement is activated within 30 s of the start');
        await sleep(200);
      }
      assert.equal(await status(claim._id), 'pending', 'a claim whose rotation never committed stays pending');
      const lease = await capLeases().findOne({ _id: owner.userId });
      assert.notEqual(lease?.boundBy, 'writer', 'the bound no longer counts the activated replacement');
    } finally {
      await restarted.stop();
    }
  });
});
