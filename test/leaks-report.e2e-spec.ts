import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { githubSignatureHeaders, isolatedEnv, KeyEventsTap, Mailpit, MailMessage, sleep } from '@keyward/testing';
import mongoose from 'mongoose';
import { generateKey } from '../apps/key-service/src/keys/key-format';
import { loggedInUser } from './support/accounts';
import { call } from './support/http';
import { KeywardSystem } from './support/keyward-system';

const VERIFY_TOKEN = 'leaks-e2e-verify-token-0123456789abcdef';
const REPORTER_TOKEN = 'leaks-e2e-reporter-token-0123456789abcdef';

interface CreatedKey {
  id: string;
  key: string;
  label: string;
  lastFive: string;
}

const isLeakEmail = (m: MailMessage) => /leaked|Leaked/.test(m.Subject);

/**
 * Leaked keys against the running system: GitHub's signed secret-scanning reports and the generic
 * reporter endpoint, through key-service, Kafka and notification-service to Mailpit.
 */
describe('leaked keys are contained and their people told once', () => {
  const isolated = isolatedEnv();
  const { env, mongoUri, emailDomain } = isolated;
  const mailpit = new Mailpit();
  const owner = `alice.tan@${emailDomain}`;
  let system: KeywardSystem;
  let tap: KeyEventsTap;
  let token: string;

  const api = <T = Record<string, unknown>>(method: string, path: string, body?: unknown) =>
    call<T>(system.url, token, method, path, body);

  async function createKey(label: string, contacts: string[]): Promise<CreatedKey> {
    const res = await api<CreatedKey>('POST', '/v1/keys', { label, contacts });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body;
  }

  async function verify(key: string): Promise<{ valid: boolean; reason?: string }> {
    const res = await fetch(`${system.url}/v1/keys/verify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-service-token': VERIFY_TOKEN },
      body: JSON.stringify({ key }),
    });
    assert.equal(res.status, 200);
    return (await res.json()) as { valid: boolean; reason?: string };
  }

  const fromGithub = (body: string, headers: Record<string, string>) =>
    fetch(`${system.url}/v1/leaks/github`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });

  const report = (reports: unknown[], reporterToken: string | null = REPORTER_TOKEN) =>
    fetch(`${system.url}/v1/leaks`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(reporterToken === null ? {} : { 'x-service-token': reporterToken }),
      },
      body: JSON.stringify({ reports }),
    });

  /** Emails to an address once `count` have arrived (Mailpit polled with a deadline). */
  /**
   * Every email to an address, once `count` have arrived and the pipeline has gone idle (so one
   * more would already be in Mailpit: counts below are exact, not "at least").
   */
  async function emailsTo(address: string, count: number): Promise<MailMessage[]> {
    await mailpit.waitFor(address, count, { timeoutMs: 20_000 });
    await system.settled();
    return mailpit.messagesTo(address);
  }

  before(async () => {
    system = await KeywardSystem.start(isolated, {
      VERIFY_SERVICE_TOKENS: VERIFY_TOKEN,
      LEAK_REPORTER_TOKENS: REPORTER_TOKEN,
    });
    token = await loggedInUser(mongoUri('keys'), owner);
    tap = new KeyEventsTap(env.KAFKA_TOPIC_NAMESPACE);
    await tap.start();
  });

  after(async () => {
    await tap?.stop();
    await system?.stop();
  });

  it('refuses an unsigned or wrongly signed GitHub report with 401 and changes nothing', async () => {
    const key = await createKey('unsigned', [`unsigned@${emailDomain}`]);
    const body = JSON.stringify([
      { token: key.key, type: 'keyward_api_key', url: 'https://github.com/a/b', source: 'content' },
    ]);
    const signedOther = githubSignatureHeaders(body.replace('content', 'commit'));
    const signed = githubSignatureHeaders(body);
    for (const [name, headers] of [
      ['no signature', {}],
      ['a signature of another body', signedOther],
      ['an unknown key identifier', { ...signed, 'github-public-key-identifier': 'someone-else' }],
      ['a signature that is not one', { ...signed, 'github-public-key-signature': 'AAAA' }],
    ] as const) {
      const res = await fromGithub(body, headers);
      assert.equal(res.status, 401, name);
      assert.match(res.headers.get('content-type') ?? '', /application\/problem\+json/, name);
    }
    assert.equal((await verify(key.key)).valid, true);
    const stored = await api<{ status: string; leakReportedAt: string | null }>('GET', `/v1/keys/${key.id}`);
    assert.equal(stored.body.status, 'active');
    assert.equal(stored.body.leakReportedAt, null);
  });

  let leaked: CreatedKey;
  let notifyOnly: CreatedKey;
  const leakedContacts = [`ops@${emailDomain}`, `oncall@${emailDomain}`];

  it('labels a signed GitHub report, revokes the real key within a second, and emails each person once', async () => {
    leaked = await createKey('production', leakedContacts);
    const revoked = await createKey('old', [`old@${emailDomain}`]);
    assert.equal((await api('DELETE', `/v1/keys/${revoked.id}`)).status, 204);
    const random = generateKey('alicetan');
    const url = 'https://github.com/alicetan/mailer/blob/4f2c9e1/config/settings.env';
    const body = JSON.stringify([
      { token: leaked.key, type: 'keyward_api_key', url, source: 'commit' },
      { token: revoked.key, type: 'keyward_api_key', url, source: 'commit' },
      { token: random, type: 'keyward_api_key', url, source: 'commit' },
    ]);

    const res = await fromGithub(body, githubSignatureHeaders(body));
    const answeredAt = Date.now();
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), [
      { token_raw: leaked.key, token_type: 'keyward_api_key', label: 'true_positive' },
      { token_raw: revoked.key, token_type: 'keyward_api_key', label: 'true_positive' },
      { token_raw: random, token_type: 'keyward_api_key', label: 'false_positive' },
    ]);
    for (;;) {
      if ((await verify(leaked.key)).reason === 'revoked') break;
      assert.ok(Date.now() - answeredAt < 1000, 'the leaked key answers revoked within a second');
      await sleep(20);
    }

    // Each contact had the created email; now exactly one more, the leak email, and no revoked email.
    for (const contact of leakedContacts) {
      const emails = await emailsTo(contact, 2);
      const leaks = emails.filter(isLeakEmail);
      assert.equal(leaks.length, 1, `one leak email to ${contact}: ${emails.map((e) => e.Subject).join(' | ')}`);
      assert.equal(emails.length, 2, `no revoked email besides it: ${emails.map((e) => e.Subject).join(' | ')}`);
    }
    const [toOwner] = await emailsTo(owner, 1);
    assert.equal(toOwner.Subject, `Leaked API key "production" (ending ${leaked.lastFive}) was revoked`);
    for (const text of [toOwner.Text, toOwner.HTML]) {
      assert.ok(text.includes('github[.]com/alicetan/mailer/blob/4f2c9e1/config/settings.env'), 'where it was found');
      assert.ok(!text.includes(url), 'as text, never a link');
      assert.ok(!text.includes(leaked.key), 'never the key itself');
      assert.ok(text.includes(`/settings#key-${leaked.id}`), 'a link to the key in Settings');
    }
    assert.match(toOwner.Text, /It revoked the key at once/);
    assert.match(toOwner.Text, /GitHub secret scanning reported it/);
    const old = await api<{ status: string; leakReportedAt: string | null }>('GET', `/v1/keys/${revoked.id}`);
    assert.equal(old.body.leakReportedAt, null, 'an already revoked key is left as it was');
  });

  it('answers each generic report, notifies only where the key says so, and never repeats the email', async () => {
    const reporterContact = `reporter@${emailDomain}`;
    notifyOnly = await createKey('staging', [reporterContact]);
    const set = await api<{ leakResponse: string }>('PATCH', `/v1/keys/${notifyOnly.id}`, { leakResponse: 'notify' });
    assert.equal(set.status, 200);
    assert.equal(set.body.leakResponse, 'notify');
    const rotated = await createKey('rotated', [`rotated@${emailDomain}`]);
    assert.equal((await api('POST', `/v1/keys/${rotated.id}/rotate`, { graceHours: 0 })).status, 201);
    const i = notifyOnly.key.length - 8;
    const badChecksum =
      notifyOnly.key.slice(0, i) + (notifyOnly.key[i] === 'a' ? 'b' : 'a') + notifyOnly.key.slice(i + 1);

    assert.equal((await report([{ key: notifyOnly.key }], null)).status, 401, 'no reporter token');
    assert.equal(
      (await report([{ key: notifyOnly.key }], VERIFY_TOKEN)).status,
      401,
      'a verify token is not a reporter token',
    );
    assert.equal((await report(Array.from({ length: 101 }, () => ({ key: 'x' })))).status, 400, 'batches are bounded');

    const res = await report([
      { key: notifyOnly.key, url: 'https://pastebin.example/abc', source: 'paste' },
      { key: notifyOnly.key },
      { key: badChecksum },
      { key: rotated.key },
      { key: generateKey('alicetan') },
      { key: leaked.key },
    ]);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), [
      { index: 0, result: 'reported' },
      { index: 1, result: 'reported' },
      { index: 2, result: 'unknown' },
      { index: 3, result: 'expired' },
      { index: 4, result: 'unknown' },
      { index: 5, result: 'already_revoked' },
    ]);
    assert.equal((await verify(notifyOnly.key)).valid, true, 'notify only: the key still works');
    const again = await report([{ key: notifyOnly.key }]);
    assert.deepEqual(await again.json(), [{ index: 0, result: 'reported' }]);

    // A marker on the same key (so the same partition, after any repeat): a contacts change.
    const marker = `marker@${emailDomain}`;
    assert.equal(
      (await api('PUT', `/v1/keys/${notifyOnly.id}/contacts`, { contacts: [reporterContact, marker] })).status,
      200,
    );
    await emailsTo(marker, 1);
    const emails = await emailsTo(reporterContact, 3);
    assert.deepEqual(
      emails.map((e) => e.Subject).sort(),
      [
        `API key "staging" (ending ${notifyOnly.lastFive}) leaked: rotate it now`,
        `Contacts changed for API key "staging" (ending ${notifyOnly.lastFive})`,
        `New API key "staging" (ending ${notifyOnly.lastFive}) created`,
      ].sort(),
    );
    const leak = emails.find(isLeakEmail)!;
    assert.match(leak.Text, /"notify only", so it still works/);
    assert.match(leak.Text, /Found at: {4}https\[:\]\/\/pastebin\[\.\]example\/abc/);
    assert.match(leak.Text, /reporter token \S+ reported it/);
    const ownerLeaks = (await emailsTo(owner, 2)).filter(isLeakEmail);
    assert.equal(ownerLeaks.length, 2, 'the owner heard once of each leaked key');

    // Events: one KeyLeaked per key, the revocation marked as caused by the leak, never a key text.
    await tap.caughtUp();
    const types = (keyId: string) => tap.ofKey(keyId).map((e) => e.type);
    assert.deepEqual(types(leaked.id), ['KeyCreated', 'KeyRevoked', 'KeyLeaked']);
    assert.deepEqual(types(notifyOnly.id), ['KeyCreated', 'KeyLeaked', 'KeyContactsChanged']);
    const [revocation] = tap.ofKey(leaked.id).filter((e) => e.type === 'KeyRevoked');
    assert.equal((revocation.payload as { cause?: string }).cause, 'leak');
    for (const { raw } of tap.received) {
      for (const key of [leaked.key, notifyOnly.key]) assert.ok(!raw.includes(key), 'no key text on Kafka');
    }
  });

  it('keeps "notify only" per key, and keys stored before the setting read as revoke', async () => {
    const plain = await createKey('legacy setting', [`plain@${emailDomain}`]);
    await system.keysDb
      .collection('keys')
      .updateOne({ _id: new mongoose.Types.ObjectId(plain.id) }, { $unset: { leakResponse: 1 } });
    const listed = await api<{ id: string; leakResponse: string }[]>('GET', '/v1/keys');
    const byId = new Map(listed.body.map((k) => [k.id, k.leakResponse]));
    assert.equal(byId.get(plain.id), 'revoke');
    assert.equal(byId.get(notifyOnly.id), 'notify');
    const bad = await api<{ errors: { field: string }[] }>('PATCH', `/v1/keys/${plain.id}`, { leakResponse: 'ignore' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.errors[0].field, 'leakResponse');
    const res = await report([{ key: plain.key }]);
    assert.deepEqual(await res.json(), [{ index: 0, result: 'revoked' }]);
    assert.equal((await verify(plain.key)).reason, 'revoked');
  });
});
