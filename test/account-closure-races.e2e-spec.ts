import mongoose from 'mongoose';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isolatedEnv, ServiceProcess, until } from '@keyward/testing';
import { hashToken } from '../apps/key-service/src/auth/sessions.repository';
import { KeyServiceSettings } from '../apps/key-service/src/config/key-service.env';
import { KeyHasher } from '../apps/key-service/src/hashing/key-hasher';
import { loggedInUser } from './support/accounts';
import { call } from './support/http';

const SERVICE_TOKEN = 'account-closure-races-e2e-service-token-01';
const KEY_HASH_SECRET = 'account-closure-races-e2e-key-hash-secret-0123456789';
/** Creates in flight when the closure is confirmed: they queue behind one another on the account. */
const CREATES = 6;

/**
 * Closing an account while changes of another session (a stolen one, say) are in flight: once the
 * closure has answered, no key created or rotated around it works, and none keeps the owner's data.
 */
describe('account closure racing key changes', () => {
  const { env, mongoUri, emailDomain } = isolatedEnv();
  let keyService: ServiceProcess;
  let keysDb: mongoose.Connection;

  const api = (token: string, method: string, path: string, body?: unknown) =>
    call(keyService.url, token, method, path, body);

  /** Verification of a key text as a client service asks it. */
  async function verify(key: string): Promise<{ valid: boolean; reason?: string }> {
    const res = await fetch(`${keyService.url}/v1/keys/verify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-service-token': SERVICE_TOKEN },
      body: JSON.stringify({ key }),
    });
    return (await res.json()) as { valid: boolean; reason?: string };
  }

  /** Asks for a closure code, then sets it to `code` (the emailed one is not what this test is about). */
  async function closureCode(token: string, code: string): Promise<void> {
    assert.equal((await api(token, 'POST', '/v1/account/closure-code')).status, 202);
    const session = await keysDb
      .collection<{ _id: string; userId: string }>('sessions')
      .findOne({ _id: hashToken(token) });
    const userId = session?.userId as string;
    const hasher = new KeyHasher({ KEY_HASH_SECRET } as KeyServiceSettings);
    await keysDb
      .collection<{ _id: string }>('login_codes')
      .updateOne(
        { _id: `account-closure:${userId}` },
        { $set: { codeHash: hasher.hash(`account-closure:${userId}:${code}`) } },
      );
  }

  before(async () => {
    keyService = await ServiceProcess.start('key-service', {
      ...env,
      MONGO_URI: mongoUri('keys'),
      KEY_HASH_SECRET,
      VERIFY_SERVICE_TOKENS: SERVICE_TOKEN,
      KEY_MAX_ACTIVE_PER_OWNER: '50',
      KEY_CHANGES_PER_HOUR: '200',
    });
    keysDb = await mongoose.createConnection(mongoUri('keys')).asPromise();
  });

  after(async () => {
    await Promise.all([keyService?.stop(), keysDb?.close()]);
  });

  it('leaves no working key and no personal data behind when changes are in flight as the account closes', async () => {
    const token = await loggedInUser(mongoUri('keys'), `racer@${emailDomain}`);
    await closureCode(token, '424242');
    /** Every key text handed out. */
    const handedOut: string[] = [];
    let n = 0;
    // Until the account is gone, creates keep coming several at a time...
    const creating = async () => {
      for (;;) {
        const res = await api(token, 'POST', '/v1/keys', { label: `racing ${n++}`, contacts: [`c@${emailDomain}`] });
        if (res.status !== 201) return;
        handedOut.push(res.body.key as string);
      }
    };
    // ...rotations hand out new keys, leaving the old ones working for a grace period...
    const rotating = async (label: string) => {
      const first = await api(token, 'POST', '/v1/keys', { label, contacts: [`r@${emailDomain}`] });
      if (first.status !== 201) return;
      handedOut.push(first.body.key as string);
      for (let id = first.body.id as string, i = 0; ; i++) {
        const res = await api(token, 'POST', `/v1/keys/${id}/rotate`, { label: `${label} ${i}`, graceHours: 24 });
        if (res.status !== 201) return;
        handedOut.push(res.body.key as string);
        id = res.body.id as string;
      }
    };
    // ...and the time zone, which is copied onto every key, keeps changing.
    const choosingZones = async () => {
      for (let i = 0; ; i++) {
        const res = await api(token, 'PATCH', '/v1/account', { timeZone: i % 2 ? 'Europe/London' : 'Asia/Tokyo' });
        if (res.status !== 200) return;
      }
    };
    const changes = [
      ...Array.from({ length: CREATES }, creating),
      rotating('rotating a'),
      rotating('rotating b'),
      ...Array.from({ length: 3 }, choosingZones),
    ];
    await until('keys created before the closure', async () => handedOut.length >= CREATES, 30_000, 10);
    const closed = await api(token, 'DELETE', '/v1/account', { code: '424242' });
    assert.equal(closed.status, 204, JSON.stringify(closed.body));
    await Promise.all(changes);

    for (const key of handedOut)
      assert.equal((await verify(key)).valid, false, `key ${key.slice(0, 12)}… handed out around the closure works`);
    const keys = keysDb.collection('keys');
    assert.equal(
      await keys.countDocuments({ retainedUntil: { $exists: false } }),
      0,
      'every key stripped for retention',
    );
    assert.equal(await keys.countDocuments({ 'owner.timeZone': { $exists: true } }), 0, 'no key keeps the time zone');
    assert.equal(await keysDb.collection('key_cap_leases').countDocuments(), 0, 'no cap lease left');
  });
});
