import mongoose from 'mongoose';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { Topic } from '@keyward/contracts';
import { dumpDatabases, isolatedEnv, Mailpit, sleep, stack } from '@keyward/testing';
import { loggedInUser } from './support/accounts';
import { Answer, call } from './support/http';
import { KeywardSystem } from './support/keyward-system';

interface KeyBody {
  id: string;
  key?: string;
  label: string;
  contacts: string[];
  status: string;
}
interface AccountExport {
  exportedAt: string;
  account: { id: string; email: string; username: string; timeZone: string; createdAt: string };
  sessions: { current: boolean; clientAddress: string | null }[];
  keys: KeyBody[];
  contacts: { email: string; keyIds: string[] }[];
  activity: { keyId: string; action: string }[];
  emails: { included: boolean; reason: string };
}
interface Problem {
  status: number;
  detail: string;
  errors?: { field: string; message: string }[];
}

const SERVICE_TOKEN = 'account-data-e2e-service-token-0123456789';
/** Short, so the test sees a closed account's keys answer `revoked` and then go. */
const KEY_RETENTION_MS = 20_000;

/**
 * Settings → Account → Your data, against the running system: the export of everything key-service
 * holds, and closing an account with a fresh emailed code (keys revoked with one email per contact
 * and key, sessions ended, personal data deleted, keys kept stripped for verification, then gone).
 */
describe('account export and closure', () => {
  const isolated = isolatedEnv();
  const { env, mongoUri, emailDomain } = isolated;
  const mailpit = new Mailpit();
  const mail = (name: string) => `${name}@${emailDomain}`;
  let system: KeywardSystem;
  /** Every key text handed out, for the leak search. */
  const keyTexts: string[] = [];

  const api = <T = Record<string, unknown>>(token: string | undefined, method: string, path: string, body?: unknown) =>
    call<T>(system.url, token, method, path, body);
  const post = (path: string, body: unknown) => api<Record<string, unknown>>(undefined, 'POST', path, body);
  /** The verification of a key; a 503 (the shared database stalling under load) is asked again. */
  const verify = async (key: string): Promise<{ valid: boolean; reason?: string }> => {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const res = await fetch(`${system.url}/v1/keys/verify`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-service-token': SERVICE_TOKEN },
        body: JSON.stringify({ key }),
      });
      if (res.status !== 503 || Date.now() > deadline) return (await res.json()) as { valid: boolean; reason?: string };
      await sleep(500);
    }
  };

  function assertProblem(res: Answer<unknown>, status: number, field?: string): Problem {
    const body = res.body as Problem;
    assert.equal(res.status, status, JSON.stringify(body));
    if (field)
      assert.ok(
        body.errors?.some((e) => e.field === field),
        `names ${field}: ${JSON.stringify(body)}`,
      );
    return body;
  }

  /** The statuses of `times` requests made one after another. */
  async function statuses(times: number, request: () => Promise<Answer<unknown>>): Promise<number[]> {
    const answers: number[] = [];
    for (let i = 0; i < times; i++) answers.push((await request()).status);
    return answers;
  }
  const exportBy = (token: string) => () => api(token, 'GET', '/v1/account/export');
  const codeBy = (token: string) => () => api(token, 'POST', '/v1/account/closure-code');
  const closureSubject = /^Your code to close your keyward account$/;

  /** The 6-digit code of the newest email to `to` whose subject matches. */
  async function newestCode(to: string, subject: RegExp, count: number): Promise<string> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const matching = (await mailpit.search(`to:"${to}"`)).filter((m) => subject.test(m.Subject));
      if (matching.length >= count) {
        const newest = await mailpit.message(matching.sort((a, b) => b.Created.localeCompare(a.Created))[0].ID);
        const code = /\b(\d{6})\b/.exec(newest.Text)?.[1];
        assert.ok(code, `a code in "${newest.Subject}"`);
        return code;
      }
      assert.ok(Date.now() < deadline, `${count} email(s) "${subject.source}" to ${to}`);
      await sleep(100);
    }
  }

  /** Signs in through the real flow (code by email); the session token. */
  async function signIn(email: string, codesBefore: number): Promise<string> {
    assert.equal((await post('/v1/auth/otp', { email })).status, 204);
    const code = await newestCode(email, /login code/, codesBefore + 1);
    const res = await post('/v1/auth/login', { email, otp: code });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.token as string;
  }

  async function createKey(token: string, label: string, contacts: string[]): Promise<KeyBody> {
    const res = await api<KeyBody>(token, 'POST', '/v1/keys', { label, contacts });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    keyTexts.push(res.body.key as string);
    return res.body;
  }

  /** Resolves once key-service's activity projection has handled every key event so far. */
  async function activityCaughtUp(): Promise<void> {
    const admin = new Kafka({ brokers: stack.kafkaBrokers.split(','), logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const topic = env.KAFKA_TOPIC_NAMESPACE + Topic.KeyEvents;
      const deadline = Date.now() + 30_000;
      for (;;) {
        const ends = await admin.fetchTopicOffsets(topic);
        const [committed] = await admin.fetchOffsets({
          groupId: `${env.KAFKA_TOPIC_NAMESPACE}key-service-activity`,
          topics: [topic],
        });
        const done = ends.every(({ partition, high, low }) => {
          const at = Number(committed.partitions.find((p) => p.partition === partition)?.offset ?? -1);
          return Number(high) === Number(low) || at >= Number(high);
        });
        if (done) return;
        assert.ok(Date.now() < deadline, 'the activity projection caught up');
        await sleep(200);
      }
    } finally {
      await admin.disconnect();
    }
  }

  before(async () => {
    system = await KeywardSystem.start(isolated, {
      VERIFY_SERVICE_TOKENS: SERVICE_TOKEN,
      CLOSED_ACCOUNT_KEYS_RETENTION: `${KEY_RETENTION_MS}ms`,
      CLOSED_ACCOUNTS_SWEEP_MS: '500',
      // Verification answers are cached; a short negative cache lets the test see a deleted key go `unknown`.
      VERIFY_NEGATIVE_CACHE_TTL_MS: '100',
    });
  });

  after(async () => {
    await system?.stop();
  });

  it('answers 401 without a session', async () => {
    assert.equal((await api(undefined, 'GET', '/v1/account/export')).status, 401);
    assert.equal((await api(undefined, 'POST', '/v1/account/closure-code')).status, 401);
    assert.equal((await api(undefined, 'DELETE', '/v1/account', { code: '123456' })).status, 401);
  });

  it('is described in the OpenAPI document: the export, the closure code, and the closure with its code', async () => {
    const doc = (await (await fetch(`${system.url}/docs-json`)).json()) as {
      paths: Record<
        string,
        Record<string, { requestBody?: { content: Record<string, { schema: unknown }> }; responses: object }>
      >;
      components: { schemas: Record<string, { properties: Record<string, unknown> }> };
    };
    assert.deepEqual(Object.keys(doc.paths['/v1/account/export']), ['get']);
    assert.deepEqual(Object.keys(doc.paths['/v1/account/closure-code']), ['post']);
    const close = doc.paths['/v1/account'].delete;
    for (const status of ['204', '400', '401', '403', '404', '429']) {
      assert.ok(status in close.responses, `DELETE /v1/account documents ${status}`);
    }
    const body = close.requestBody?.content['application/json'].schema as { required: string[] };
    assert.deepEqual(body.required, ['code']);
    assert.deepEqual(Object.keys(doc.components.schemas.AccountExportResponse.properties).sort(), [
      'account',
      'activity',
      'contacts',
      'emails',
      'exportedAt',
      'keys',
      'sessions',
    ]);
  });

  it('exports the account, its keys (never a hash or key), their contacts and the activity; rate limited', async () => {
    const token = await loggedInUser(mongoUri('keys'), mail('exporter'));
    const first = await createKey(token, 'first', [mail('shared'), mail('only-first')]);
    const second = await createKey(token, 'second', [mail('shared')]);
    assert.equal((await api(token, 'DELETE', `/v1/keys/${second.id}`)).status, 204);
    await system.settled();
    await activityCaughtUp();

    const res = await fetch(`${system.url}/v1/account/export`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-disposition') ?? '', /attachment; filename="keyward-account\.json"/);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const text = await res.text();
    const data = JSON.parse(text) as AccountExport;
    assert.equal(data.account.email, mail('exporter'));
    assert.equal(data.account.timeZone, 'Asia/Singapore');
    assert.deepEqual(
      data.sessions.map((x) => x.current),
      [true],
      'where it is signed in',
    );
    assert.ok(!text.includes(token), 'never the session token');
    assert.deepEqual(
      data.keys.map((k) => [k.label, k.status, k.contacts]),
      [
        ['second', 'revoked', [mail('shared')]],
        ['first', 'active', [mail('shared'), mail('only-first')]],
      ],
    );
    assert.deepEqual(data.contacts, [
      { email: mail('only-first'), keyIds: [first.id] },
      { email: mail('shared'), keyIds: [second.id, first.id] },
    ]);
    assert.deepEqual(
      data.activity.map((a) => [a.keyId, a.action]).sort(),
      [
        [first.id, 'created'],
        [second.id, 'created'],
        [second.id, 'revoked'],
      ].sort(),
    );
    assert.equal(data.emails.included, false);
    assert.match(data.emails.reason, /notification service/);
    // Metadata only: no hash, no key text, no outbox, nothing internal.
    const stored = await system.keysDb.collection('keys').find().toArray();
    for (const { hash } of stored) assert.ok(!text.includes(hash as string), 'no key hash in the export');
    for (const key of keyTexts) assert.ok(!text.includes(key) && !text.includes(key.slice(-20)), 'no key text');
    assert.doesNotMatch(text, /"(hash|outbox|labelKey|_id)"/);

    // Five an hour; the sixth is refused with Retry-After, and another account is not.
    for (let i = 1; i < 5; i++) assert.equal((await api(token, 'GET', '/v1/account/export')).status, 200);
    const refused = await fetch(`${system.url}/v1/account/export`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(refused.status, 429);
    assert.ok(Number(refused.headers.get('retry-after')) > 0);
    const other = await loggedInUser(mongoUri('keys'), mail('other-exporter'));
    assert.equal((await api(other, 'GET', '/v1/account/export')).status, 200);
  });

  it('lets a stolen session spend only its own budgets: the owner, signed in afresh, exports and closes', async () => {
    const email = mail('robbed');
    const stolen = await signIn(email, 0);
    // The thief spends the session's exports, closure codes and closure attempts, and goes on past them.
    assert.deepEqual(await statuses(7, exportBy(stolen)), [200, 200, 200, 200, 200, 429, 429]);
    assert.deepEqual(await statuses(7, codeBy(stolen)), [202, 202, 202, 202, 202, 429, 429]);
    const sent = (await mailpit.waitFor(email, 1 + 5)).map((m) => /\b(\d{6})\b/.exec(m.Text)?.[1]);
    const wrong = ['000000', '000001', '000002', '000003', '000004', '000005', '000006'].find((c) => !sent.includes(c));
    const guess = () => api(stolen, 'DELETE', '/v1/account', { code: wrong });
    assert.deepEqual(await statuses(12, guess), [...Array<number>(10).fill(403), 429, 429]);
    assert.match(assertProblem(await exportBy(stolen)(), 429).detail, /^This session has downloaded/);

    // The owner signs in afresh, signs the thief out, and still has every budget.
    const owner = await signIn(email, 1);
    assert.equal((await api(owner, 'DELETE', '/v1/account/sessions')).status, 204);
    assert.equal((await exportBy(stolen)()).status, 401);
    const data = await api<AccountExport>(owner, 'GET', '/v1/account/export');
    assert.equal(data.status, 200, JSON.stringify(data.body));
    assert.equal(data.body.account.email, email);
    assert.equal((await codeBy(owner)()).status, 202);
    const code = await newestCode(email, closureSubject, 5 + 1);
    const closed = await api(owner, 'DELETE', '/v1/account', { code });
    assert.equal(closed.status, 204, JSON.stringify(closed.body));
    assert.equal((await exportBy(owner)()).status, 404);
  });

  it('bounds all sessions of an account together at three sessions’ exports and closure codes', async () => {
    const email = mail('many-devices');
    const sessions: string[] = [];
    for (let i = 0; i < 4; i++) sessions.push(await signIn(email, i));
    const [first, second, third, fourth] = sessions;
    // The first also goes past its own budget: what it is refused costs the others nothing.
    assert.deepEqual(await statuses(7, exportBy(first)), [200, 200, 200, 200, 200, 429, 429]);
    for (const token of [second, third]) assert.deepEqual(await statuses(5, exportBy(token)), Array(5).fill(200));
    const exportCeiling = assertProblem(await exportBy(fourth)(), 429);
    assert.match(exportCeiling.detail, /sessions together have downloaded the account's data 15 times this hour/);

    assert.deepEqual(await statuses(7, codeBy(first)), [202, 202, 202, 202, 202, 429, 429]);
    for (const token of [second, third]) assert.deepEqual(await statuses(5, codeBy(token)), Array(5).fill(202));
    const codeCeiling = assertProblem(await codeBy(fourth)(), 429);
    assert.match(codeCeiling.detail, /sessions together have requested 15 codes to close the account this hour/);
    assert.equal((await api(fourth, 'GET', '/v1/account')).status, 200, 'the session itself still works');
  });

  it('closes an account only with a fresh closure code: not without one, not a login code, not a wrong one', async () => {
    const email = mail('careful');
    const token = await signIn(email, 0);
    assertProblem(await api(token, 'DELETE', '/v1/account'), 400, 'code');
    assertProblem(await api(token, 'DELETE', '/v1/account', { code: '12345' }), 400, 'code');
    assertProblem(await api(token, 'DELETE', '/v1/account', { code: '123456', extra: 1 }), 400, 'extra');

    // A login code of the same address is no closure code.
    assert.equal((await post('/v1/auth/otp', { email })).status, 204);
    const loginCode = await newestCode(email, /login code/, 2);
    assertProblem(await api(token, 'DELETE', '/v1/account', { code: loginCode }), 403, 'code');

    const issued = await api(token, 'POST', '/v1/account/closure-code');
    assert.equal(issued.status, 202, JSON.stringify(issued.body));
    assert.ok(Date.parse(issued.body.expiresAt as string) > Date.now());
    const closureCode = await newestCode(email, closureSubject, 1);
    // It signs nobody in, and a wrong one closes nothing.
    assert.equal((await post('/v1/auth/login', { email, otp: closureCode })).status, 401);
    const wrong = closureCode === '000000' ? '000001' : '000000';
    assertProblem(await api(token, 'DELETE', '/v1/account', { code: wrong }), 403, 'code');
    // A newer code replaces it.
    assert.equal((await api(token, 'POST', '/v1/account/closure-code')).status, 202);
    const newer = await newestCode(email, closureSubject, 2);
    if (newer !== closureCode) assertProblem(await api(token, 'DELETE', '/v1/account', { code: closureCode }), 403);
    assert.equal((await api(token, 'GET', '/v1/account')).status, 200, 'the account is still open');
  });

  it('revokes every key with one email per contact and key, ends sessions, deletes personal data; a second delete is 404', async () => {
    const email = mail('leaving');
    const token = await signIn(email, 0);
    const otherSession = await signIn(email, 1);
    // shared is a contact of both working keys; retired's key was revoked before, expired's is past its expiry.
    const prod = await createKey(token, 'prod', [mail('l-shared'), mail('l-prod')]);
    const staging = await createKey(token, 'staging', [mail('l-shared')]);
    const revoked = await createKey(token, 'revoked earlier', [mail('l-retired')]);
    const expired = await createKey(token, 'expired', [mail('l-expired')]);
    assert.equal((await api(token, 'DELETE', `/v1/keys/${revoked.id}`)).status, 204);
    await system.keysDb
      .collection('keys')
      .updateOne(
        { _id: new mongoose.Types.ObjectId(expired.id) },
        { $set: { expiresAt: new Date(Date.now() - 1000), nextReminderAt: null } },
      );
    assert.equal((await api(token, 'PATCH', '/v1/account', { timeZone: 'Europe/London' })).status, 200);
    await system.settled();
    await activityCaughtUp();
    // The rate-limit counters of the account and of its address, named as key-service names them.
    const userId = String((await system.keysDb.collection('users').findOne({ email }))?._id);
    const counter = (limit: string, subject: string) =>
      `${limit}:${createHash('sha256').update(`${limit} ${subject}`).digest('base64url')}:`;
    const counters = [
      counter('key-changes', userId),
      counter('account-changes', userId),
      counter('otp-email', email),
      counter('login-email', email),
    ];
    const countersLeft = async () =>
      (await system.keysDb.collection<{ _id: string }>('rate_limits').find().toArray()).filter(({ _id }) =>
        counters.some((c) => _id.startsWith(c)),
      ).length;
    assert.equal(await countersLeft(), counters.length, 'each counter has a window before the closure');
    const before = await Promise.all(
      [mail('l-shared'), mail('l-prod'), mail('l-retired'), mail('l-expired')].map(
        async (to) => (await mailpit.messagesTo(to)).length,
      ),
    );

    assert.equal((await api(token, 'POST', '/v1/account/closure-code')).status, 202);
    const code = await newestCode(email, closureSubject, 1);
    const closed = await api(token, 'DELETE', '/v1/account', { code });
    assert.equal(closed.status, 204, JSON.stringify(closed.body));

    // Idempotent: the same request again, and any request of either session, finds no account.
    assertProblem(await api(token, 'DELETE', '/v1/account', { code }), 404);
    assert.match(assertProblem(await api(otherSession, 'GET', '/v1/keys'), 404).detail, /account was closed/);
    assert.equal((await api(token, 'GET', '/v1/auth/session')).status, 401);

    // Every key refuses at once, as revoked; those that worked were revoked now, with one email per contact and key.
    for (const key of keyTexts.slice(-4)) assert.deepEqual(await verify(key), { valid: false, reason: 'revoked' });
    await system.settled();
    const closedEmails = async (to: string) =>
      (await mailpit.messagesTo(to)).filter((m) => /its keyward account was closed/.test(m.Subject));
    const shared = await closedEmails(mail('l-shared'));
    assert.deepEqual(shared.map((m) => m.Subject).sort(), [
      'API key "prod" (ending ' + prod.key!.slice(-5) + ') no longer works: its keyward account was closed',
      'API key "staging" (ending ' + staging.key!.slice(-5) + ') no longer works: its keyward account was closed',
    ]);
    assert.match(shared[0].Text, new RegExp(`The keyward account ${email.replace(/\./g, '\\.')} was closed on .* GMT`));
    assert.match(shared[0].Text, /stopped working at once/);
    assert.equal((await closedEmails(mail('l-prod'))).length, 1);
    const after = await Promise.all(
      [mail('l-shared'), mail('l-prod'), mail('l-retired'), mail('l-expired')].map(
        async (to) => (await mailpit.messagesTo(to)).length,
      ),
    );
    assert.deepEqual(
      after,
      [before[0] + 2, before[1] + 1, before[2], before[3]],
      'nothing to keys that no longer worked',
    );

    assert.equal(await countersLeft(), 0, 'the account’s rate-limit counters are gone');
    // Nothing about the person is left in key-service's database, once its events have left the outbox.
    await activityCaughtUp();
    const dump = await dumpDatabases(mongoUri('keys').split('/').pop()!);
    const leaks = dump.filter(({ text }) =>
      [email, 'leaving', 'l-prod@', 'l-shared@', 'l-retired@', 'l-expired@', 'Europe/London', '"prod"', 'staging'].some(
        (s) => text.includes(s),
      ),
    );
    assert.deepEqual(leaks, [], 'no document names the closed account, its contacts or labels');
    assert.equal(
      await system.keysDb.collection('activity').countDocuments({ keyId: { $in: [prod.id, staging.id] } }),
      0,
    );
    assert.equal(
      await system.keysDb.collection('sessions').countDocuments({ accountClosed: true, userId: { $exists: true } }),
      0,
    );
    const kept = await system.keysDb
      .collection('keys')
      .find({ _id: new mongoose.Types.ObjectId(prod.id) })
      .toArray();
    assert.deepEqual(Object.keys(kept[0]).sort(), [
      '_id',
      'contacts',
      'createdAt',
      'expiresAt',
      'hash',
      'labelKey',
      'legacy',
      'nextReminderAt',
      'outbox',
      'outboxAt',
      'owner',
      'remindersSent',
      'retainedUntil',
      'revokedAt',
      'status',
    ]);
    assert.deepEqual(Object.keys(kept[0].owner as object), ['userId']);
    assert.deepEqual([kept[0].status, kept[0].nextReminderAt, kept[0].contacts], ['revoked', null, []], 'no reminders');
  });

  it('starts a new account with the same email empty', async () => {
    const email = mail('leaving');
    const before = (await mailpit.messagesTo(email)).filter((m) => /login code/.test(m.Subject)).length;
    const token = await signIn(email, before);
    const account = await api<{ email: string; timeZone: string }>(token, 'GET', '/v1/account');
    assert.equal(account.body.email, email);
    assert.equal(account.body.timeZone, 'Asia/Singapore', 'not the closed account’s choice');
    assert.deepEqual((await api(token, 'GET', '/v1/keys')).body, []);
    assert.deepEqual((await api<{ entries: unknown[] }>(token, 'GET', '/v1/activity')).body.entries, []);
    const data = (await api<AccountExport>(token, 'GET', '/v1/account/export')).body;
    assert.deepEqual([data.keys, data.contacts, data.activity], [[], [], []]);
  });

  it('deletes a closed account’s keys after the retention: verifying them then answers unknown', async () => {
    const closedKeys = keyTexts.slice(-4);
    const deadline = Date.now() + KEY_RETENTION_MS + 60_000;
    for (;;) {
      const answers = await Promise.all(closedKeys.map(verify));
      if (answers.every((a) => a.reason === 'unknown')) break;
      assert.ok(
        answers.every((a) => a.reason === 'revoked' || a.reason === 'unknown'),
        `revoked until deleted: ${JSON.stringify(answers)}`,
      );
      assert.ok(Date.now() < deadline, `deleted within the retention: ${JSON.stringify(answers)}`);
      await sleep(500);
    }
    assert.equal(await system.keysDb.collection('keys').countDocuments({ retainedUntil: { $exists: true } }), 0);
  });

  it('finishes a closure interrupted after it began (a crash), with the same result', async () => {
    const email = mail('interrupted');
    const token = await loggedInUser(mongoUri('keys'), email);
    const key = await createKey(token, 'crashed', [mail('i-contact')]);
    await system.settled();
    // What a process that died right after marking the account leaves behind, two minutes ago.
    await system.keysDb
      .collection('users')
      .updateOne({ email }, { $set: { closingAt: new Date(Date.now() - 120_000) } });
    assert.match(assertProblem(await api(token, 'GET', '/v1/keys'), 404).detail, /account was closed/);

    const deadline = Date.now() + 30_000;
    while ((await system.keysDb.collection('users').countDocuments({ email })) > 0) {
      assert.ok(Date.now() < deadline, 'the sweep finished the closure');
      await sleep(200);
    }
    assert.deepEqual(await verify(key.key!), { valid: false, reason: 'revoked' });
    await system.settled();
    const emails = (await mailpit.messagesTo(mail('i-contact'))).map((m) => m.Subject);
    assert.equal(emails.filter((s) => /its keyward account was closed/.test(s)).length, 1, emails.join('; '));
    assert.equal(
      await system.keysDb.collection('sessions').countDocuments({ userId: { $exists: true }, accountClosed: true }),
      0,
    );
  });
});
