import mongoose from 'mongoose';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { dumpDatabases, isolatedEnv, KeyEventsTap, readNamespaceTopics, ServiceProcess, sleep } from '@keyward/testing';
import { KeyStatus } from '../apps/key-service/src/keys/key.schema';
import { loggedInUser } from './support/accounts';
import { keyDocument } from './support/key-documents';
import { Answer, call } from './support/http';

interface KeyBody {
  id: string;
  key?: string;
  label: string;
  lastFive: string;
  contacts: string[];
  createdAt: string;
  expiresAt: string;
  status: string;
  lastUsedAt?: string | null;
}
interface Problem {
  status: number;
  title: string;
  detail: string;
  errors?: { field: string; message: string }[];
}

const HASH_SECRET = `e2e-keys-${randomBytes(16).toString('hex')}`;
const HOUR = 3_600_000;
const sgtDate = (at: Date | string) =>
  new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Singapore' }).format(new Date(at));

/** Every key endpoint and error answer, with the events each change puts on the key-events topic. */
describe('key lifecycle API', () => {
  const { id: testId, env, mongoUri, emailDomain } = isolatedEnv();
  const tap = new KeyEventsTap(env.KAFKA_TOPIC_NAMESPACE);
  /** The types of the events published about a key, in order. */
  const eventTypesOf = (keyId: string) => tap.ofKey(keyId).map((e) => e.type);
  /** Every key text handed out in this file, for the leak search at the end. */
  const keyTexts: string[] = [];
  let keyService: ServiceProcess;
  let db: mongoose.Connection;
  const tokens: Record<'alice' | 'bob' | 'carol' | 'dave' | 'erin', string> = {
    alice: '',
    bob: '',
    carol: '',
    dave: '',
    erin: '',
  };
  const mail = (name: string) => `${name}@${emailDomain}`;

  const api = <T = KeyBody>(who: keyof typeof tokens | undefined, method: string, path: string, body?: unknown) =>
    call<T>(keyService.url, who && tokens[who], method, path, body);

  async function createKey(who: keyof typeof tokens, label: string, contacts = [mail('ops')]): Promise<KeyBody> {
    const res = await api(who, 'POST', '/v1/keys', { label, contacts });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    keyTexts.push(res.body.key as string);
    return res.body;
  }

  function assertProblem(res: Answer<unknown>, status: number, detail?: RegExp): Problem {
    const body = res.body as Problem;
    assert.equal(res.status, status, JSON.stringify(body));
    assert.match(res.type ?? '', /application\/problem\+json/);
    assert.equal(body.status, status);
    if (detail) assert.match(body.detail, detail);
    return body;
  }

  function assertInvalidField(res: Answer<unknown>, field: string): void {
    const body = assertProblem(res, 400);
    assert.ok(
      body.errors?.some((e) => e.field === field),
      `400 names ${field}: ${JSON.stringify(body.errors)}`,
    );
  }

  /**
   * Waits until no key has events waiting in its outbox, then until the tap has read the whole
   * topic; fails when the outbox does not drain, so no assertion runs on unpublished events.
   */
  async function settled(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let waiting: number;
    while ((waiting = await db.collection('keys').countDocuments({ outboxAt: { $ne: null } })) > 0) {
      if (Date.now() > deadline) throw new Error(`${waiting} keys still hold unpublished events after ${timeoutMs} ms`);
      await sleep(50);
    }
    await tap.caughtUp();
  }

  before(async () => {
    keyService = await ServiceProcess.start('key-service', {
      ...env,
      MONGO_URI: mongoUri('keys'),
      KEY_HASH_SECRET: HASH_SECRET,
      // The lifecycle, not the per-account limit, is under test here (security-relay covers that).
      KEY_CHANGES_PER_HOUR: '1000',
    });
    for (const name of Object.keys(tokens) as (keyof typeof tokens)[]) {
      tokens[name] = await loggedInUser(mongoUri('keys'), mail(name));
    }
    db = await mongoose.createConnection(mongoUri('keys')).asPromise();
    await tap.start();
  });

  after(async () => {
    await tap.stop();
    await keyService?.stop();
    await db?.close();
  });

  it('answers 401 without a valid session on every key endpoint', async () => {
    const id = new mongoose.Types.ObjectId().toHexString();
    const routes: [string, string, unknown?][] = [
      ['GET', `/v1/keys/${id}`],
      ['PUT', `/v1/keys/${id}/contacts`, { contacts: [mail('ops')] }],
      ['DELETE', `/v1/keys/${id}`],
      ['POST', `/v1/keys/${id}/rotate`, { graceHours: 1 }],
    ];
    for (const [method, path, body] of routes) {
      assertProblem(await call(keyService.url, undefined, method, path, body), 401);
      assertProblem(await call(keyService.url, 'not-a-session', method, path, body), 401);
    }
  });

  it('shows one key to its owner without the key text; another user or a malformed id gets 404', async () => {
    const created = await createKey('alice', 'web', [mail('ops'), mail('dev')]);
    const res = await api('alice', 'GET', `/v1/keys/${created.id}`);
    assert.equal(res.status, 200);
    const { key, ...listed } = created;
    assert.ok(key);
    assert.ok(!('key' in res.body) && !JSON.stringify(res.body).includes(key), 'never the key text');
    assert.deepEqual(res.body, { ...listed, lastUsedAt: null });

    assertProblem(await api('bob', 'GET', `/v1/keys/${created.id}`), 404, /No key/);
    assertProblem(await api('alice', 'GET', '/v1/keys/not-an-id'), 404);
    assertProblem(await api('alice', 'GET', `/v1/keys/${new mongoose.Types.ObjectId().toHexString()}`), 404);
  });

  it('replaces contacts with one KeyContactsChanged naming old and new; an unchanged set emits nothing', async () => {
    const created = await createKey('alice', 'contacts', [mail('a'), mail('b')]);
    const first = await api('alice', 'PUT', `/v1/keys/${created.id}/contacts`, {
      contacts: [` ${mail('C').toUpperCase()} `, mail('a'), mail('c')],
    });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.deepEqual(first.body.contacts, [mail('c'), mail('a')], 'trimmed, lowercased, deduplicated');

    const [changed] = await tap.waitFor((e) => e.keyId === created.id && e.type === 'KeyContactsChanged');
    assert.equal(changed.type, 'KeyContactsChanged');
    if (changed.type !== 'KeyContactsChanged') return;
    assert.deepEqual(changed.payload.previousContacts, [mail('a'), mail('b')]);
    assert.deepEqual(changed.payload.contacts, [mail('c'), mail('a')]);
    assert.equal(changed.payload.label, 'contacts');
    assert.equal(changed.payload.lastFive, created.lastFive);
    assert.equal(changed.payload.expiresAt, created.expiresAt);
    assert.equal(changed.owner.email, mail('alice'));

    const same = await api('alice', 'PUT', `/v1/keys/${created.id}/contacts`, {
      contacts: [mail('A'), mail('c')],
    });
    assert.equal(same.status, 200);
    assert.deepEqual(same.body.contacts, [mail('c'), mail('a')], 'an unchanged set is left as it was');

    // A later real change: events of one key are in order, so nothing can hide between the two.
    await api('alice', 'PUT', `/v1/keys/${created.id}/contacts`, { contacts: [mail('d')] });
    await tap.waitFor((e) => e.keyId === created.id && e.type === 'KeyContactsChanged', 2);
    await settled();
    assert.deepEqual(eventTypesOf(created.id), ['KeyCreated', 'KeyContactsChanged', 'KeyContactsChanged']);
    const events = tap.ofKey(created.id);
    const second = events[2];
    assert.ok(second.type === 'KeyContactsChanged');
    assert.deepEqual(second.payload.previousContacts, [mail('c'), mail('a')]);
    assert.deepEqual(second.payload.contacts, [mail('d')]);
    assert.deepEqual((await api('alice', 'GET', `/v1/keys/${created.id}`)).body.contacts, [mail('d')]);
  });

  it('refuses invalid contacts with 400 naming the field, another user’s key with 404, and changes nothing', async () => {
    const created = await createKey('alice', 'strict contacts', [mail('keep')]);
    const path = `/v1/keys/${created.id}/contacts`;
    const tooMany = Array.from({ length: 11 }, (_, i) => mail(`c${i}`));
    for (const contacts of [[], ['not an email'], [mail('ok'), 'nope@'], mail('x'), tooMany, [42], null]) {
      assertInvalidField(await api('alice', 'PUT', path, { contacts }), 'contacts');
    }
    assertInvalidField(await api('alice', 'PUT', path, {}), 'contacts');
    assertInvalidField(await api('alice', 'PUT', path, { contacts: [mail('x')], label: 'sneaky' }), 'label');
    assertProblem(await api('bob', 'PUT', path, { contacts: [mail('bob')] }), 404);
    assertProblem(await api('alice', 'PUT', '/v1/keys/zzz/contacts', { contacts: [mail('x')] }), 404);

    assert.deepEqual((await api('alice', 'GET', `/v1/keys/${created.id}`)).body.contacts, [mail('keep')]);
    await settled();
    assert.deepEqual(eventTypesOf(created.id), ['KeyCreated']);
  });

  it('revokes at once with one KeyRevoked; revoking again is 204 with no second event', async () => {
    const created = await createKey('alice', 'to revoke', [mail('ops'), mail('sec')]);
    const before = Date.now();
    const res = await api('alice', 'DELETE', `/v1/keys/${created.id}`);
    assert.equal(res.status, 204);
    assert.equal(res.body, null, 'no body');
    const shown = (await api('alice', 'GET', `/v1/keys/${created.id}`)).body;
    assert.equal(shown.status, 'revoked');
    assert.equal(shown.expiresAt, created.expiresAt, 'revoking does not rewrite the expiry');

    const [revoked] = await tap.waitFor((e) => e.keyId === created.id && e.type === 'KeyRevoked');
    assert.ok(revoked.type === 'KeyRevoked');
    assert.deepEqual(revoked.payload.contacts, [mail('ops'), mail('sec')]);
    assert.equal(revoked.payload.label, 'to revoke');
    assert.equal(revoked.payload.lastFive, created.lastFive);
    assert.ok(Date.parse(revoked.payload.revokedAt) >= before - 1000);

    assert.equal((await api('alice', 'DELETE', `/v1/keys/${created.id}`)).status, 204, 'idempotent');
    assertProblem(await api('alice', 'PUT', `/v1/keys/${created.id}/contacts`, { contacts: [mail('x')] }), 409);
    assertProblem(await api('alice', 'POST', `/v1/keys/${created.id}/rotate`, { graceHours: 0 }), 409, /revoked/);
    await settled();
    assert.deepEqual(eventTypesOf(created.id), ['KeyCreated', 'KeyRevoked']);
  });

  it('gives concurrent revocations of a key one KeyRevoked (repeats only under the same eventId)', async () => {
    const created = await createKey('alice', 'double click');
    const answers = await Promise.all([1, 2, 3, 4].map(() => api('alice', 'DELETE', `/v1/keys/${created.id}`)));
    assert.deepEqual(
      answers.map((a) => a.status),
      [204, 204, 204, 204],
    );
    await tap.waitFor((e) => e.keyId === created.id && e.type === 'KeyRevoked');
    await settled();
    const revocations = tap.ofKey(created.id).filter((e) => e.type === 'KeyRevoked');
    assert.equal(new Set(revocations.map((e) => e.eventId)).size, 1, `${revocations.length} published`);
  });

  it('lets nobody but the owner revoke: another user and a malformed id get 404', async () => {
    const created = await createKey('alice', 'not yours');
    assertProblem(await api('bob', 'DELETE', `/v1/keys/${created.id}`), 404);
    assertProblem(await api('alice', 'DELETE', '/v1/keys/12345'), 404);
    assert.equal((await api('alice', 'GET', `/v1/keys/${created.id}`)).body.status, 'active');
    await settled();
    assert.deepEqual(eventTypesOf(created.id), ['KeyCreated']);
  });

  it('rotates: a new key with the same contacts and a dated label; the old key keeps its label for the grace period', async () => {
    const old = await createKey('dave', 'prod', [mail('ops'), mail('oncall')]);
    const t0 = Date.now();
    const res = await api('dave', 'POST', `/v1/keys/${old.id}/rotate`, { graceHours: 24 });
    const t1 = Date.now();
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const fresh = res.body;
    keyTexts.push(fresh.key as string);
    assert.match(fresh.key as string, /^dave_v1_[0-9A-Za-z]{36}$/);
    assert.notEqual(fresh.key, old.key);
    assert.notEqual(fresh.id, old.id);
    assert.equal(fresh.label, `prod (${sgtDate(fresh.createdAt)})`);
    assert.deepEqual(fresh.contacts, old.contacts);
    assert.equal(fresh.status, 'active');
    assert.equal(fresh.lastFive, (fresh.key as string).slice(-5));

    const oldNow = (await api('dave', 'GET', `/v1/keys/${old.id}`)).body;
    assert.equal(oldNow.label, 'prod');
    assert.equal(oldNow.status, 'active', 'still valid during the grace period');
    const graceEnd = Date.parse(oldNow.expiresAt);
    assert.ok(graceEnd >= t0 + 24 * HOUR - 1000 && graceEnd <= t1 + 24 * HOUR, oldNow.expiresAt);

    const listed = (await api<KeyBody[]>('dave', 'GET', '/v1/keys')).body.map((k) => k.id);
    assert.deepEqual(listed.slice(0, 2), [fresh.id, old.id], 'newest first');

    const [rotated] = await tap.waitFor((e) => e.keyId === old.id && e.type === 'KeyRotated');
    assert.ok(rotated.type === 'KeyRotated');
    assert.deepEqual(rotated.payload, {
      label: 'prod',
      lastFive: old.lastFive,
      contacts: old.contacts,
      oldKeyExpiresAt: oldNow.expiresAt,
      newKeyId: fresh.id,
      newLabel: fresh.label,
      newLastFive: fresh.lastFive,
      newExpiresAt: fresh.expiresAt,
      requestedFrom: '127.0.0.1',
    });

    assertProblem(await api('dave', 'POST', `/v1/keys/${old.id}/rotate`, { graceHours: 1 }), 409, /already rotated/);
    await settled();
    assert.deepEqual(eventTypesOf(old.id), ['KeyCreated', 'KeyRotated']);
    // One rotation, one event: KeyRotated announces the replacement, which gets no KeyCreated.
    assert.deepEqual(eventTypesOf(fresh.id), []);
  });

  it('rotates with graceHours 0: the old key is expired at once and cannot be rotated again', async () => {
    const old = await createKey('dave', 'batch');
    const res = await api('dave', 'POST', `/v1/keys/${old.id}/rotate`, { graceHours: 0, label: ' batch v2 ' });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    keyTexts.push(res.body.key as string);
    assert.equal(res.body.label, 'batch v2', 'a given label is trimmed and used');

    const oldNow = (await api('dave', 'GET', `/v1/keys/${old.id}`)).body;
    assert.equal(oldNow.status, 'expired');
    assert.ok(Date.parse(oldNow.expiresAt) <= Date.now());
    assert.equal(oldNow.label, 'batch');

    const [rotated] = await tap.waitFor((e) => e.keyId === old.id && e.type === 'KeyRotated');
    assert.ok(rotated.type === 'KeyRotated');
    assert.equal(rotated.payload.oldKeyExpiresAt, oldNow.expiresAt);
    assert.equal(rotated.payload.newLabel, 'batch v2');

    assertProblem(await api('dave', 'POST', `/v1/keys/${old.id}/rotate`, { graceHours: 0 }), 409, /expired/);
  });

  it('never extends an old key by rotating it: a grace period past its expiry keeps the expiry', async () => {
    const old = await createKey('dave', 'short-lived');
    const soon = new Date(Date.now() + 2 * HOUR);
    await db.collection('keys').updateOne({ _id: new mongoose.Types.ObjectId(old.id) }, { $set: { expiresAt: soon } });
    const res = await api('dave', 'POST', `/v1/keys/${old.id}/rotate`, { graceHours: 168 });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    keyTexts.push(res.body.key as string);
    const oldNow = (await api('dave', 'GET', `/v1/keys/${old.id}`)).body;
    assert.equal(oldNow.expiresAt, soon.toISOString());
    const [rotated] = await tap.waitFor((e) => e.keyId === old.id && e.type === 'KeyRotated');
    assert.ok(rotated.type === 'KeyRotated');
    assert.equal(rotated.payload.oldKeyExpiresAt, soon.toISOString());
  });

  it('gives a rotation the next free dated label, and refuses a taken custom label with 409', async () => {
    const date = sgtDate(new Date());
    const svc = await createKey('dave', 'svc');
    await createKey('dave', `svc (${date})`);
    const res = await api('dave', 'POST', `/v1/keys/${svc.id}/rotate`, { graceHours: 1 });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    keyTexts.push(res.body.key as string);
    assert.equal(res.body.label, `svc (${sgtDate(res.body.createdAt)}) 2`);

    await createKey('dave', 'Taken');
    const api2 = await createKey('dave', 'api2');
    const before = (await api<KeyBody[]>('dave', 'GET', '/v1/keys')).body.length;
    assertProblem(
      await api('dave', 'POST', `/v1/keys/${api2.id}/rotate`, { graceHours: 1, label: 'TAKEN' }),
      409,
      /already used/,
    );
    assert.equal((await api<KeyBody[]>('dave', 'GET', '/v1/keys')).body.length, before, 'no key was added');
    const untouched = (await api('dave', 'GET', `/v1/keys/${api2.id}`)).body;
    assert.equal(untouched.expiresAt, api2.expiresAt, 'the old key was not rotated');
  });

  it('refuses invalid rotation requests with 400 naming the field, and others’ keys with 404', async () => {
    const old = await createKey('dave', 'validate rotation');
    const path = `/v1/keys/${old.id}/rotate`;
    for (const graceHours of [-1, 169, 1.5, '24', null]) {
      assertInvalidField(await api('dave', 'POST', path, { graceHours }), 'graceHours');
    }
    assertInvalidField(await api('dave', 'POST', path, {}), 'graceHours');
    for (const label of ['', '   ', 'x'.repeat(65), 'two\nlines', 7]) {
      assertInvalidField(await api('dave', 'POST', path, { graceHours: 1, label }), 'label');
    }
    assertProblem(await api('bob', 'POST', path, { graceHours: 1 }), 404);
    assertProblem(await api('dave', 'POST', '/v1/keys/nope/rotate', { graceHours: 1 }), 404);
    assert.equal((await api('dave', 'GET', `/v1/keys/${old.id}`)).body.expiresAt, old.expiresAt);
  });

  /**
   * A replacement as a key-service leaves it when it dies between a rotation's two writes: `active`
   * as the previous version wrote it (after publishing its KeyCreated), `pending` as this one does.
   */
  async function insertClaim(
    old: KeyBody,
    createdAt: Date,
    status: KeyStatus.Active | KeyStatus.Pending = KeyStatus.Active,
  ): Promise<string> {
    const stored = await db.collection('keys').findOne({ _id: new mongoose.Types.ObjectId(old.id) });
    assert.ok(stored);
    const label = `${old.label} (${sgtDate(createdAt)})`;
    const { insertedId } = await db.collection('keys').insertOne(
      keyDocument({
        owner: stored.owner,
        lastFive: 'zzzzz',
        label,
        contacts: stored.contacts,
        createdAt,
        nextReminderAt: new Date(createdAt.getTime() + 150 * 24 * HOUR),
        status,
        replaces: old.id,
      }),
    );
    return insertedId.toHexString();
  }

  it('finishes a rotation that crashed between its two writes, silently dropping the pending replacement', async () => {
    const old = await createKey('dave', 'crashed', [mail('ops')]);
    const leftoverId = await insertClaim(old, new Date(Date.now() - 2 * 60_000), KeyStatus.Pending);
    assertProblem(await api('dave', 'GET', `/v1/keys/${leftoverId}`), 404, /No key/);
    assert.ok(!(await api<KeyBody[]>('dave', 'GET', '/v1/keys')).body.some((k) => k.id === leftoverId), 'not listed');

    const res = await api('dave', 'POST', `/v1/keys/${old.id}/rotate`, { graceHours: 2 });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    keyTexts.push(res.body.key as string);
    assert.equal(res.body.status, 'active');
    assert.equal(res.body.label, `crashed (${sgtDate(res.body.createdAt)})`, 'the leftover’s label was freed');
    const stored = await db.collection('keys').findOne({ _id: new mongoose.Types.ObjectId(res.body.id) });
    assert.equal(stored?.status, 'active');
    assert.equal(await db.collection('keys').countDocuments({ _id: new mongoose.Types.ObjectId(leftoverId) }), 0);

    const [rotated] = await tap.waitFor((e) => e.keyId === old.id && e.type === 'KeyRotated');
    assert.ok(rotated.type === 'KeyRotated');
    assert.equal(rotated.payload.newKeyId, res.body.id);
    await settled();
    assert.deepEqual(tap.ofKey(leftoverId), [], 'nothing ever named the key nobody received');
    assert.deepEqual(tap.ofKey(res.body.id), [], 'the replacement is announced by KeyRotated only');
  });

  it('finishes a rotation the previous version left half done, revoking its announced replacement', async () => {
    const old = await createKey('dave', 'half done', [mail('ops')]);
    const leftoverId = await insertClaim(old, new Date(Date.now() - 2 * 60_000));
    const leftover = (await api('dave', 'GET', `/v1/keys/${leftoverId}`)).body;

    const res = await api('dave', 'POST', `/v1/keys/${old.id}/rotate`, { graceHours: 2 });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    keyTexts.push(res.body.key as string);
    assert.notEqual(res.body.id, leftoverId);
    const dated = `half done (${sgtDate(res.body.createdAt)})`;
    assert.equal(res.body.label, leftover.label === dated ? `${dated} 2` : dated, 'the leftover keeps its label');

    assert.equal((await api('dave', 'GET', `/v1/keys/${leftoverId}`)).body.status, 'revoked');
    assert.equal((await api('dave', 'GET', `/v1/keys/${res.body.id}`)).body.status, 'active');
    assert.equal((await api('dave', 'GET', `/v1/keys/${old.id}`)).body.status, 'active', 'in its grace period');
    const [revoked] = await tap.waitFor((e) => e.keyId === leftoverId && e.type === 'KeyRevoked');
    assert.equal(revoked.owner.email, mail('dave'));
    const [rotated] = await tap.waitFor((e) => e.keyId === old.id && e.type === 'KeyRotated');
    assert.ok(rotated.type === 'KeyRotated');
    assert.equal(rotated.payload.newKeyId, res.body.id);
  });

  it('answers 409 while another request’s rotation of the key is in flight, changing nothing', async () => {
    const old = await createKey('dave', 'in flight', [mail('ops')]);
    const claimId = await insertClaim(old, new Date());
    const keysBefore = (await api<KeyBody[]>('dave', 'GET', '/v1/keys')).body.length;
    assertProblem(await api('dave', 'POST', `/v1/keys/${old.id}/rotate`, { graceHours: 1 }), 409, /being rotated/);
    assert.equal((await api<KeyBody[]>('dave', 'GET', '/v1/keys')).body.length, keysBefore);
    assert.equal((await api('dave', 'GET', `/v1/keys/${claimId}`)).body.status, 'active');
    assert.equal((await api('dave', 'GET', `/v1/keys/${old.id}`)).body.expiresAt, old.expiresAt);
  });

  it('lets exactly one of several concurrent rotations of a key win', async () => {
    const old = await createKey('dave', 'race', [mail('ops')]);
    const answers = await Promise.all(
      [1, 2, 3, 4].map((h) => api('dave', 'POST', `/v1/keys/${old.id}/rotate`, { graceHours: h })),
    );
    const won = answers.filter((a) => a.status === 201);
    assert.equal(won.length, 1, JSON.stringify(answers.map((a) => a.status)));
    keyTexts.push(won[0].body.key as string);
    for (const lost of answers.filter((a) => a.status !== 201)) assertProblem(lost, 409);

    await settled();
    assert.deepEqual(eventTypesOf(old.id), ['KeyCreated', 'KeyRotated']);
    const replacements = (await api<KeyBody[]>('dave', 'GET', '/v1/keys')).body.filter((k) =>
      k.label.startsWith('race ('),
    );
    assert.deepEqual(
      replacements.map((k) => [k.id, k.status]),
      [[won[0].body.id, 'active']],
    );
  });

  it('caps active keys at 20: creating is 409; a rotation may take the slot of the key it replaces', async () => {
    const keys: KeyBody[] = [];
    for (let i = 1; i <= 20; i++) keys.push(await createKey('carol', `k${i}`));
    assertProblem(await api('carol', 'POST', '/v1/keys', { label: 'k21', contacts: [mail('ops')] }), 409, /20 active/);

    const rotated = await api('carol', 'POST', `/v1/keys/${keys[0].id}/rotate`, { graceHours: 1 });
    assert.equal(rotated.status, 201, JSON.stringify(rotated.body));
    keyTexts.push(rotated.body.key as string);
    // 21 valid now (one in its grace period): nothing more until a slot frees up.
    assertProblem(await api('carol', 'POST', '/v1/keys', { label: 'k21', contacts: [mail('ops')] }), 409, /active/);
    assertProblem(await api('carol', 'POST', `/v1/keys/${keys[1].id}/rotate`, { graceHours: 1 }), 409, /active/);

    assert.equal((await api('carol', 'DELETE', `/v1/keys/${keys[0].id}`)).status, 204);
    assert.equal((await api('carol', 'DELETE', `/v1/keys/${keys[1].id}`)).status, 204);
    await createKey('carol', 'k21');
  });

  it('holds the cap under concurrent requests: 25 creates at once, then rotations and creates racing at the limit', async () => {
    const creates = await Promise.all(
      Array.from({ length: 25 }, (_, i) =>
        api('erin', 'POST', '/v1/keys', { label: `burst ${i}`, contacts: [mail('ops')] }),
      ),
    );
    const made = creates.filter((a) => a.status === 201);
    assert.equal(made.length, 20, JSON.stringify(creates.map((a) => a.status)));
    for (const refused of creates.filter((a) => a.status !== 201)) assertProblem(refused, 409, /20 active/);
    keyTexts.push(...made.map((a) => a.body.key as string));
    const ownerId = (await db.collection('keys').findOne({ _id: new mongoose.Types.ObjectId(made[0].body.id) }))?.owner
      .userId as string;
    const working = () => db.collection('keys').countDocuments({ 'owner.userId': ownerId, status: 'active' });
    assert.equal(await working(), 20);

    // At the limit one rotation fits (its old key then works for its grace period), nothing more.
    const race = await Promise.all([
      ...made.slice(0, 5).map((a) => api('erin', 'POST', `/v1/keys/${a.body.id}/rotate`, { graceHours: 1 })),
      ...[1, 2, 3].map((i) => api('erin', 'POST', '/v1/keys', { label: `late ${i}`, contacts: [mail('ops')] })),
    ]);
    const statuses = race.map((a) => a.status);
    assert.deepEqual(
      statuses.filter((s) => s === 201).length,
      1,
      `exactly one rotation wins: ${JSON.stringify(statuses)}`,
    );
    assert.ok(
      statuses.slice(5).every((s) => s === 409),
      'no create fits',
    );
    keyTexts.push(race.find((a) => a.status === 201)?.body.key as string);
    assert.equal(await working(), 21);
  });

  it('never puts a key or its hash in an event; a key’s events share its partition and are keyed by its id', async () => {
    await settled();
    const hashes = (await db.collection('keys').find().toArray()).map((k) => k.hash as string);
    assert.ok(tap.received.length >= keyTexts.length, 'the tap saw the events');
    const partitionOf = new Map<string, number>();
    for (const t of tap.received) {
      for (const secret of [...keyTexts, ...hashes]) assert.ok(!t.raw.includes(secret), `${t.event.type} leaks`);
      assert.equal(t.key, t.event.keyId);
      assert.equal(t.eventIdHeader, t.event.eventId);
      assert.equal(
        partitionOf.get(t.event.keyId) ?? t.partition,
        t.partition,
        `${t.event.keyId} stays on one partition`,
      );
      partitionOf.set(t.event.keyId, t.partition);
    }
    // At-least-once: a repeated eventId must be a repeat of the same event (same key and type).
    const first = new Map<string, string>();
    for (const { event } of tap.received) {
      const what = `${event.keyId} ${event.type}`;
      assert.equal(first.get(event.eventId) ?? what, what, `eventId ${event.eventId} names one event`);
      first.set(event.eventId, what);
    }
  });

  it('leaves no key text in any collection, topic or log line', async () => {
    await settled();
    const documents = await dumpDatabases(`kw_${testId}_`);
    const messages = await readNamespaceTopics(env.KAFKA_TOPIC_NAMESPACE);
    const log = await readFile(keyService.logFile, 'utf8');
    // The search must be able to find things: each key's hash is in the keys collection, its id in the log.
    const first = keyTexts[0];
    const firstHash = createHmac('sha256', HASH_SECRET).update(first).digest('base64url');
    assert.ok(
      documents.some((d) => d.where.endsWith('.keys') && d.text.includes(firstHash)),
      'hash found',
    );
    assert.ok(
      messages.some((m) => m.text.includes('KeyCreated')),
      'topics read',
    );
    assert.ok(log.includes('key created'), 'log read');

    assert.ok(keyTexts.length >= 30);
    for (const key of keyTexts) {
      for (const d of documents) assert.ok(!d.text.includes(key), `a key is stored in ${d.where}`);
      for (const m of messages) assert.ok(!m.text.includes(key), `a key is on ${m.topic}`);
      assert.ok(!log.includes(key), 'a key is in the key-service log');
      // Its random part alone must not be there either (e.g. logged without the prefix).
      assert.ok(!log.includes(key.split('_v1_')[1]));
    }
  });
});
