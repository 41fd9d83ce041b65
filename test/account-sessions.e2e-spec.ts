import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { isolatedEnv, Mailpit } from '@keyward/testing';
import { csrfTokenFor } from './support/accounts';
import { call } from './support/http';
import { KeywardSystem } from './support/keyward-system';

interface SessionBody {
  id: string;
  createdAt: string;
  expiresAt: string;
  lastSeenAt: string | null;
  clientAddress: string | null;
  userAgent: string | null;
  current: boolean;
}

const HASH_SECRET = `e2e-sessions-${randomBytes(16).toString('hex')}`;
const FIREFOX = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0';
const IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';
const tokenHash = (token: string) => createHash('sha256').update(token).digest('base64url');

/**
 * Settings → Account's sessions: where an account is signed in (sessions of the previous version
 * included), and signing out there, one or all others; tokens never appear in the answers.
 */
describe('account sessions', () => {
  const isolated = isolatedEnv();
  const { emailDomain } = isolated;
  const mailpit = new Mailpit();
  const mail = (name: string) => `${name}@${emailDomain}`;
  let system: KeywardSystem;
  /** Every token handed out here, for the search of the answers. */
  const tokens: string[] = [];

  const sessionsOf = async (token: string) => {
    const res = await call<SessionBody[]>(system.url, token, 'GET', '/v1/account/sessions');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    for (const t of tokens) {
      const text = JSON.stringify(res.body);
      assert.ok(!text.includes(t) && !text.includes(tokenHash(t)), 'no token, no token hash');
    }
    return res.body;
  };
  const works = async (token: string) => (await call(system.url, token, 'GET', '/v1/keys')).status;

  /** Signs in through the emailed code, from a client address and device of the test's choosing. */
  async function signIn(email: string, from: string, userAgent: string): Promise<string> {
    const headers = { 'content-type': 'application/json', 'x-forwarded-for': from, 'user-agent': userAgent };
    const earlier = new Set((await mailpit.search(`to:"${email}"`)).map((m) => m.ID));
    const asked = await fetch(`${system.url}/v1/auth/otp`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ email }),
    });
    assert.equal(asked.status, 204);
    const code = (await mailpit.waitFor(email, earlier.size + 1)).find((m) => !earlier.has(m.ID));
    const otp = /\b(\d{6})\b/.exec(code!.Text)?.[1];
    const res = await fetch(`${system.url}/v1/auth/login`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ email, otp }),
    });
    assert.equal(res.status, 200);
    const { token } = (await res.json()) as { token: string };
    tokens.push(token);
    return token;
  }

  /** A session as the previous version stored it: no last-seen time, client address or device. */
  async function oldShapeSession(email: string): Promise<string> {
    const user = await system.keysDb.collection('users').findOne({ email });
    const token = randomBytes(32).toString('base64url');
    const now = new Date();
    await system.keysDb
      .collection<{ _id: string; userId: string; createdAt: Date; expiresAt: Date }>('sessions')
      .insertOne({
        _id: tokenHash(token),
        userId: user!._id.toHexString(),
        createdAt: new Date(now.getTime() - 3_600_000),
        expiresAt: new Date(now.getTime() + 3_600_000),
      });
    tokens.push(token);
    return token;
  }

  before(async () => {
    // The tests act as a proxy on loopback to give each sign-in its own client address.
    system = await KeywardSystem.start(isolated, { KEY_HASH_SECRET: HASH_SECRET, TRUST_PROXY: '127.0.0.1' });
  });

  after(async () => {
    await system?.stop();
  });

  it('answers 401 without a valid session', async () => {
    for (const [method, path] of [
      ['GET', '/v1/account/sessions'],
      ['DELETE', '/v1/account/sessions'],
      ['DELETE', '/v1/account/sessions/AAAAAAAAAAAAAAAAAAAAAA'],
    ]) {
      assert.equal((await call(system.url, undefined, method, path)).status, 401);
      assert.equal((await call(system.url, 'not-a-session', method, path)).status, 401);
    }
  });

  it('lists every live session with its device, the current one marked, older sessions included', async () => {
    const laptop = await signIn(mail('alice'), '203.0.113.7', FIREFOX);
    const phone = await signIn(mail('alice'), '198.51.100.23', IPHONE);
    const old = await oldShapeSession(mail('alice'));
    const bob = await signIn(mail('bob'), '192.0.2.1', FIREFOX);

    const listed = await sessionsOf(phone);
    assert.equal(listed.length, 3, 'alice’s three, not bob’s');
    assert.deepEqual(
      listed.map((s) => [s.userAgent, s.clientAddress, s.current]),
      [
        ['Safari 17 on iOS', '198.51.100.23', true],
        ['Firefox 133 on Windows', '203.0.113.7', false],
        [null, null, false],
      ],
      'newest first',
    );
    for (const s of listed) assert.match(s.id, /^[A-Za-z0-9_-]{22}$/);
    assert.equal(listed[2].lastSeenAt, null, 'a session of the previous version, unused since');
    assert.ok(Date.parse(listed[0].lastSeenAt!) <= Date.now());
    assert.deepEqual(
      (await sessionsOf(laptop)).map((s) => [s.id, s.current]),
      listed.map((s, i) => [s.id, i === 1]),
      'ids are stable; each caller sees its own marked',
    );

    // The old session still works, and from then on it is seen.
    assert.equal(await works(old), 200);
    const [seen] = (await sessionsOf(phone)).filter((s) => s.id === listed[2].id);
    assert.ok(seen.lastSeenAt && seen.clientAddress === '127.0.0.1', JSON.stringify(seen));
    assert.equal((await sessionsOf(bob)).length, 1);
  });

  it('records last seen at most once a minute per session', async () => {
    const token = await signIn(mail('carol'), '203.0.113.9', FIREFOX);
    const stored = () => system.keysDb.collection('sessions').findOne({ _id: tokenHash(token) as never });
    const first = (await stored())!.lastSeenAt as Date;
    for (let i = 0; i < 5; i++) assert.equal(await works(token), 200);
    assert.equal(((await stored())!.lastSeenAt as Date).getTime(), first.getTime(), 'no write within the minute');

    const twoMinutesAgo = new Date(Date.now() - 120_000);
    await system.keysDb
      .collection('sessions')
      .updateOne({ _id: tokenHash(token) as never }, { $set: { lastSeenAt: twoMinutesAgo } });
    assert.equal(await works(token), 200);
    const later = (await stored())!.lastSeenAt as Date;
    assert.ok(later.getTime() > twoMinutesAgo.getTime() + 60_000, 'a minute on, the next request is recorded');
  });

  it('ends one session by id; another account’s id, an ended or a made-up one is 404', async () => {
    const keep = await signIn(mail('dave'), '203.0.113.10', FIREFOX);
    const lost = await signIn(mail('dave'), '203.0.113.11', IPHONE);
    const eve = await signIn(mail('eve'), '203.0.113.12', FIREFOX);
    const lostId = (await sessionsOf(keep)).find((s) => !s.current)!.id;

    const end = (token: string, id: string) =>
      call(system.url, token, 'DELETE', `/v1/account/sessions/${encodeURIComponent(id)}`);
    assert.equal((await end(eve, lostId)).status, 404, 'not eve’s session');
    assert.equal(await works(lost), 200, 'still signed in after eve’s attempt');
    assert.equal((await end(keep, 'AAAAAAAAAAAAAAAAAAAAAA')).status, 404);
    assert.equal((await end(keep, tokenHash(lost))).status, 404, 'the token’s hash names nothing');

    assert.equal((await end(keep, lostId)).status, 204);
    assert.equal(await works(lost), 401, 'its token no longer works');
    assert.equal((await end(keep, lostId)).status, 404, 'ending it again');
    assert.equal(await works(keep), 200);
    assert.equal(await works(eve), 200);
    assert.deepEqual(
      (await sessionsOf(keep)).map((s) => s.current),
      [true],
    );
  });

  it('ends every other session at once and keeps the caller’s', async () => {
    const keep = await signIn(mail('frank'), '203.0.113.20', FIREFOX);
    const others = [await signIn(mail('frank'), '203.0.113.21', IPHONE), await oldShapeSession(mail('frank'))];
    const grace = await signIn(mail('grace'), '203.0.113.22', FIREFOX);

    assert.equal((await call(system.url, keep, 'DELETE', '/v1/account/sessions')).status, 204);
    for (const token of others) assert.equal(await works(token), 401);
    assert.equal(await works(keep), 200);
    assert.equal(await works(grace), 200, 'other accounts keep theirs');
    assert.equal((await sessionsOf(keep)).length, 1);
  });

  it('takes cookie-authenticated endings only from its own pages with the CSRF token, and ending one’s own signs out', async () => {
    const token = await signIn(mail('heidi'), '203.0.113.30', FIREFOX);
    const other = await signIn(mail('heidi'), '203.0.113.31', IPHONE);
    const csrf = csrfTokenFor(token, HASH_SECRET);
    const cookie = `keyward_session=${token}; keyward_csrf=${csrf}`;
    const del = (path: string, headers: Record<string, string>) =>
      fetch(`${system.url}${path}`, { method: 'DELETE', headers: { cookie, ...headers } });

    assert.equal((await del('/v1/account/sessions', {})).status, 403, 'no CSRF token');
    assert.equal((await del('/v1/account/sessions', { 'x-csrf-token': csrfTokenFor(other, HASH_SECRET) })).status, 403);
    const crossSite = await del('/v1/account/sessions', { 'x-csrf-token': csrf, origin: 'https://evil.test' });
    assert.equal(crossSite.status, 403, 'from another site');
    assert.equal(await works(other), 200, 'nothing ended');

    const own = (await sessionsOf(token)).find((s) => s.current)!.id;
    const signedOut = await del(`/v1/account/sessions/${own}`, {
      'x-csrf-token': csrf,
      'sec-fetch-site': 'same-origin',
    });
    assert.equal(signedOut.status, 204);
    const cleared = signedOut.headers.getSetCookie();
    assert.ok(
      cleared.some((c) => /^keyward_session=;/.test(c)),
      JSON.stringify(cleared),
    );
    assert.equal(await works(token), 401);
    assert.equal(await works(other), 200);
  });

  it('limits account changes per session with 429 and Retry-After, never signing out elsewhere', async () => {
    const owner = await signIn(mail('ivan'), '203.0.113.40', FIREFOX);
    // A stolen session spends its whole budget of changes...
    const stolen = await signIn(mail('ivan'), '198.51.100.66', IPHONE);
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 61; i++) {
      const res = await fetch(`${system.url}/v1/account`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${stolen}`, 'content-type': 'application/json' },
        body: JSON.stringify({ timeZone: i % 2 ? 'Europe/London' : 'Asia/Tokyo' }),
      });
      statuses.push(res.status);
      retryAfter = res.headers.get('retry-after');
    }
    assert.deepEqual([...new Set(statuses.slice(0, 60))], [200]);
    assert.equal(statuses[60], 429);
    assert.ok(Number(retryAfter) > 0, `Retry-After: ${retryAfter}`);
    assert.equal((await sessionsOf(owner)).length, 2, 'reading is not limited');
    // ...which must not stop the owner from ending it, one or all others.
    const stolenId = (await sessionsOf(owner)).find((s) => !s.current)!.id;
    const ended = await call(system.url, owner, 'DELETE', `/v1/account/sessions/${stolenId}`);
    assert.equal(ended.status, 204, JSON.stringify(ended.body));
    assert.equal(await works(stolen), 401);
    assert.equal((await call(system.url, owner, 'DELETE', '/v1/account/sessions')).status, 204);
    // ...nor the owner from setting back what it changed (the account's ceiling is three sessions' worth).
    const restored = await call(system.url, owner, 'PATCH', '/v1/account', { timeZone: 'Asia/Singapore' });
    assert.equal(restored.status, 200, JSON.stringify(restored.body));
  });

  it('is described in the OpenAPI document, with the time zone body and no token in a session', async () => {
    const doc = (await (await fetch(`${system.url}/docs-json`)).json()) as {
      paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: unknown }> } }>>;
      components: { schemas: Record<string, { properties: Record<string, unknown> }> };
    };
    // DELETE closes the account (test/account-data).
    assert.deepEqual(Object.keys(doc.paths['/v1/account']).sort(), ['delete', 'get', 'patch']);
    assert.deepEqual(Object.keys(doc.paths['/v1/account/sessions']).sort(), ['delete', 'get']);
    assert.deepEqual(Object.keys(doc.paths['/v1/account/sessions/{id}']), ['delete']);
    const patch = doc.paths['/v1/account'].patch.requestBody?.content['application/json'].schema as {
      required: string[];
      additionalProperties: boolean;
    };
    assert.deepEqual([patch.required, patch.additionalProperties], [['timeZone'], false]);
    const session = Object.keys(doc.components.schemas.AccountSessionResponse.properties).sort();
    assert.deepEqual(session, ['clientAddress', 'createdAt', 'current', 'expiresAt', 'id', 'lastSeenAt', 'userAgent']);
  });
});
