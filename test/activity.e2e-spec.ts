import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isolatedEnv, ServiceProcess, sleep } from '@keyward/testing';
import mongoose from 'mongoose';
import { loggedInUser } from './support/accounts';
import { call } from './support/http';

const REPORTER_TOKEN = 'activity-e2e-reporter-token-0123456789abcdef';
const VERIFY_TOKEN = 'activity-e2e-verify-token-0123456789abcdef';
const DAY_MS = 24 * 60 * 60 * 1000;

interface Entry {
  id: string;
  keyId: string;
  label: string;
  at: string;
  action: string;
  actor: string;
  actorName: string;
  from: string | null;
  details: Record<string, unknown>;
}
interface Page {
  entries: Entry[];
  nextCursor: string | null;
}

/** The activity timeline against the running system: a scripted key life, read back in order. */
describe('key activity', () => {
  const { env, mongoUri, emailDomain } = isolatedEnv();
  const email = `alice.tan@${emailDomain}`;
  let keyService: ServiceProcess;
  let token: string;
  let db: mongoose.Connection;

  const api = <T = Record<string, unknown>>(method: string, path: string, body?: unknown, as = token) =>
    call<T>(keyService.url, as, method, path, body);

  /** The whole timeline (or one key's), page by page, once it holds `count` entries. */
  async function timeline(count: number, query = '', limit = 50): Promise<Entry[]> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const entries: Entry[] = [];
      let cursor: string | null = null;
      do {
        const params = new URLSearchParams(query);
        params.set('limit', String(limit));
        if (cursor) params.set('cursor', cursor);
        const page = await api<Page>('GET', `/v1/activity?${params}`);
        assert.equal(page.status, 200, JSON.stringify(page.body));
        entries.push(...page.body.entries);
        cursor = page.body.nextCursor;
      } while (cursor);
      if (entries.length >= count) return entries;
      assert.ok(Date.now() < deadline, `expected ${count} entries, have ${entries.length}`);
      await sleep(100);
    }
  }

  before(async () => {
    // Written by an earlier version of the system: one entry past the 400-day retention, one inside it.
    db = await mongoose.createConnection(mongoUri('keys')).asPromise();
    const old = { ownerId: 'u-old', keyId: 'k-old', action: 'created', label: 'old', lastFive: 'abcde' };
    const entry = (id: string, days: number) => ({
      _id: id,
      ...old,
      at: new Date(Date.now() - days * DAY_MS),
      actor: 'user',
      actorName: 'someone@example.com',
      details: {},
    });
    await db.collection<{ _id: string }>('activity').insertMany([entry('past-retention', 401), entry('kept', 399)]);
    keyService = await ServiceProcess.start('key-service', {
      ...env,
      MONGO_URI: mongoUri('keys'),
      LEAK_REPORTER_TOKENS: REPORTER_TOKEN,
      VERIFY_SERVICE_TOKENS: VERIFY_TOKEN,
      ACTIVITY_FAILURES_FLUSH_MS: '200',
    });
    token = await loggedInUser(mongoUri('keys'), email);
  });

  after(async () => {
    await db?.close();
    await keyService?.stop();
  });

  it('records each action of a key’s life, newest first, saying who did it', async () => {
    const created = await api<{ id: string; key: string }>('POST', '/v1/keys', {
      label: 'production',
      contacts: [`ops@${emailDomain}`],
    });
    assert.equal(created.status, 201);
    const id = created.body.id;
    assert.equal((await api('PATCH', `/v1/keys/${id}`, { leakResponse: 'notify' })).status, 200);
    assert.equal((await api('PUT', `/v1/keys/${id}/contacts`, { contacts: [`oncall@${emailDomain}`] })).status, 200);
    const leak = await fetch(`${keyService.url}/v1/leaks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-service-token': REPORTER_TOKEN },
      body: JSON.stringify({ reports: [{ key: created.body.key, url: 'https://paste.example/x', source: 'paste' }] }),
    });
    assert.deepEqual(await leak.json(), [{ index: 0, result: 'reported' }]);
    const rotated = await api<{ id: string }>('POST', `/v1/keys/${id}/rotate`, { graceHours: 1 });
    assert.equal(rotated.status, 201);
    assert.equal((await api('DELETE', `/v1/keys/${rotated.body.id}`)).status, 204);

    const ofKey = await timeline(4, `keyId=${id}`);
    assert.deepEqual(
      ofKey.map((e) => e.action),
      ['rotated', 'leak_reported', 'contacts_changed', 'created'],
    );
    const [rotation, leaked, contacts, creation] = ofKey;
    assert.deepEqual(contacts.details, { added: [`oncall@${emailDomain}`], removed: [`ops@${emailDomain}`] });
    assert.deepEqual([contacts.actor, contacts.actorName, contacts.from], ['user', email, '127.0.0.1']);
    assert.deepEqual([rotation.from, creation.from], ['127.0.0.1', '127.0.0.1'], 'where each user action came from');
    assert.equal(leaked.actor, 'scanner');
    assert.match(leaked.actorName, /^reporter token /);
    assert.equal(leaked.from, null);
    assert.deepEqual(leaked.details, { url: 'https://paste.example/x', source: 'paste', response: 'notified' });
    assert.equal(rotation.details.newKeyId, rotated.body.id);
    assert.deepEqual(creation.details, { contacts: [`ops@${emailDomain}`] });

    // The account's timeline, read two at a time: the replacement's creation and the rotation
    // happen at the same instant, so only their pair is ordered.
    const all = await timeline(6, '', 2);
    assert.equal(all.length, 6, 'each entry once across pages');
    assert.deepEqual(
      all.map((e) => `${e.action} ${e.keyId === id ? 'old' : 'new'}`),
      [
        'revoked new',
        ...all.slice(1, 3).map((e) => `${e.action} ${e.keyId === id ? 'old' : 'new'}`),
        'leak_reported old',
        'contacts_changed old',
        'created old',
      ],
    );
    assert.deepEqual(
      all
        .slice(1, 3)
        .map((e) => `${e.action} ${e.keyId === id ? 'old' : 'new'}`)
        .sort(),
      ['created new', 'rotated old'],
    );
    const stored = JSON.stringify(await db.collection('activity').find({}).toArray());
    assert.ok(!stored.includes(created.body.key), 'never the key text');
  });

  it('counts, per hour, the refused uses of a key that no longer works (never the key)', async () => {
    const created = await api<{ id: string; key: string }>('POST', '/v1/keys', {
      label: 'retired',
      contacts: [`ops@${emailDomain}`],
    });
    assert.equal((await api('DELETE', `/v1/keys/${created.body.id}`)).status, 204);
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${keyService.url}/v1/keys/verify`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-service-token': VERIFY_TOKEN },
        body: JSON.stringify({ key: created.body.key }),
      });
      assert.deepEqual(await res.json(), { valid: false, reason: 'revoked' });
    }
    const deadline = Date.now() + 20_000;
    for (;;) {
      const entries = (await api<Page>('GET', `/v1/activity?keyId=${created.body.id}`)).body.entries;
      const refusals = entries.find((e) => e.action === 'verification_failed');
      if (refusals?.details.revoked === 3) {
        assert.deepEqual([refusals.actor, refusals.details], ['service', { revoked: 3, expired: 0 }]);
        assert.deepEqual(
          entries.map((e) => e.action),
          ['verification_failed', 'revoked', 'created'],
        );
        break;
      }
      assert.ok(Date.now() < deadline, `refusals never counted: ${JSON.stringify(entries)}`);
      await sleep(100);
    }
  });

  it('shows an account only its own activity, and refuses a bad key id or cursor naming the field', async () => {
    const [anyEntry] = await timeline(1);
    const stranger = await loggedInUser(mongoUri('keys'), `bob@${emailDomain}`);
    const theirs = await api<Page>('GET', `/v1/activity?keyId=${anyEntry.keyId}`, undefined, stranger);
    assert.equal(theirs.status, 200);
    assert.deepEqual(theirs.body, { entries: [], nextCursor: null });
    assert.equal((await api('GET', '/v1/activity', undefined, 'not-a-session')).status, 401);
    for (const [query, field] of [
      ['keyId=nope', 'keyId'],
      ['cursor=bm90LWEtY3Vyc29y', 'cursor'],
      ['limit=0', 'limit'],
      ['extra=1', 'extra'],
    ]) {
      const res = await api<{ errors: { field: string }[] }>('GET', `/v1/activity?${query}`);
      assert.equal(res.status, 400, query);
      assert.equal(res.body.errors[0].field, field, query);
    }
  });

  it('deletes activity past the retention period (400 days), keeping what is newer', async () => {
    const deadline = Date.now() + 20_000;
    const ids = async () =>
      (await db.collection<{ _id: string }>('activity').find({ ownerId: 'u-old' }).toArray()).map((e) => e._id);
    while ((await ids()).includes('past-retention')) {
      assert.ok(Date.now() < deadline, 'the sweep never ran');
      await sleep(100);
    }
    assert.deepEqual(await ids(), ['kept']);
  });
});
