import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { isolatedEnv, Mailpit } from '@keyward/testing';
import { KeywardSystem } from './support/keyward-system';

/** Login by emailed one-time code, sessions, CSRF and rate limits, against the real stack. */
describe('login with an emailed one-time code', () => {
  const isolated = isolatedEnv();
  const { emailDomain } = isolated;
  const mailpit = new Mailpit();
  let system: KeywardSystem;

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${system.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });

  async function requestCode(email: string, expectedEmails = 1): Promise<string> {
    const res = await post('/v1/auth/otp', { email });
    assert.equal(res.status, 204);
    const messages = await mailpit.waitFor(email, expectedEmails);
    const newest = messages.sort((a, b) => b.Created.localeCompare(a.Created))[0];
    const code = /\b(\d{6})\b/.exec(newest.Text)?.[1];
    assert.ok(code, `a 6-digit code in the email to ${email}`);
    return code;
  }

  before(async () => {
    // Rate limits count by client address; the tests act as a proxy on loopback to vary it.
    system = await KeywardSystem.start(isolated, { TRUST_PROXY: '127.0.0.1' });
  });

  after(async () => {
    await system?.stop();
  });

  it('logs in a first-time user with the emailed code and sets a strict httpOnly cookie', async () => {
    const email = `new.user@${emailDomain}`;
    const code = await requestCode(email);
    const res = await post('/v1/auth/login', { email, otp: code });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { token: string; user: { email: string; username: string; timeZone: string } };
    assert.deepEqual(body.user, { email, username: 'newuser', timeZone: 'Asia/Singapore' });
    const cookies = res.headers.getSetCookie();
    const session = cookies.find((c) => c.startsWith('keyward_session='));
    assert.ok(session && /HttpOnly/i.test(session) && /SameSite=Strict/i.test(session), session);
    const csrf = cookies.find((c) => c.startsWith('keyward_csrf='));
    assert.ok(csrf && !/HttpOnly/i.test(csrf), 'the CSRF cookie is readable by the page');

    const me = await fetch(`${system.url}/v1/auth/session`, { headers: { authorization: `Bearer ${body.token}` } });
    assert.equal(me.status, 200);
    assert.equal(((await me.json()) as { user: { email: string } }).user.email, email);
  });

  it('accepts a code once only', async () => {
    const email = `once@${emailDomain}`;
    const code = await requestCode(email);
    assert.equal((await post('/v1/auth/login', { email, otp: code })).status, 200);
    assert.equal((await post('/v1/auth/login', { email, otp: code })).status, 401);
  });

  it('refuses wrong codes, and any attempt after five from the same client (429)', async () => {
    const email = `guesser@${emailDomain}`;
    const code = await requestCode(email);
    const wrong = code === '000000' ? '000001' : '000000';
    for (let i = 0; i < 5; i++) {
      const res = await post('/v1/auth/login', { email, otp: wrong });
      assert.equal(res.status, 401);
      assert.match(((await res.json()) as { detail: string }).detail, /wrong or has expired/);
    }
    const refused = await post('/v1/auth/login', { email, otp: code });
    assert.equal(refused.status, 429);
    assert.ok(Number(refused.headers.get('retry-after')) > 0);
  });

  it('answers 204 for any address and 400 naming the field for a malformed one', async () => {
    const bad = await post('/v1/auth/otp', { email: 'not-an-email' });
    assert.equal(bad.status, 400);
    const problem = (await bad.json()) as { errors: { field: string }[] };
    assert.deepEqual(
      problem.errors.map((e) => e.field),
      ['email'],
    );
    assert.equal((await post('/v1/auth/login', { email: `x@${emailDomain}`, otp: '12345' })).status, 400);
    assert.equal((await post('/v1/auth/otp', { email: `x@${emailDomain}`, extra: 1 })).status, 400);
  });

  it('limits code requests per address with 429 and Retry-After', async () => {
    const email = `flood@${emailDomain}`;
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 6; i++) {
      const res = await post('/v1/auth/otp', { email }, { 'x-forwarded-for': '203.0.113.7' });
      statuses.push(res.status);
      retryAfter = res.headers.get('retry-after') ?? retryAfter;
    }
    assert.deepEqual(statuses, [204, 204, 204, 204, 204, 429]);
    assert.ok(Number(retryAfter) > 0 && Number(retryAfter) <= 900, `Retry-After ${retryAfter}`);
  });

  it('limits code requests per client address across many emails', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 21; i++) {
      const res = await post(
        '/v1/auth/otp',
        { email: `spray${i}@${emailDomain}` },
        { 'x-forwarded-for': '198.51.100.9' },
      );
      statuses.push(res.status);
    }
    assert.deepEqual(statuses.slice(0, 20), Array(20).fill(204));
    assert.equal(statuses[20], 429);
  });

  it('requires the CSRF header for cookie-authenticated changes, not for bearer tokens', async () => {
    const email = `cookie@${emailDomain}`;
    const login = await post('/v1/auth/login', { email, otp: await requestCode(email) });
    const { token } = (await login.json()) as { token: string };
    const cookies = login.headers.getSetCookie().map((c) => c.split(';')[0]);
    const csrf = cookies.find((c) => c.startsWith('keyward_csrf='))!.split('=')[1];
    const cookieHeader = cookies.join('; ');
    const newKey = (label: string) => ({ label, contacts: [`ops@${emailDomain}`] });

    assert.equal((await post('/v1/keys', newKey('no-csrf'), { cookie: cookieHeader })).status, 403);
    assert.equal(
      (await post('/v1/keys', newKey('wrong-csrf'), { cookie: cookieHeader, 'x-csrf-token': csrf + 'x' })).status,
      403,
    );
    assert.equal(
      (await post('/v1/keys', newKey('with-csrf'), { cookie: cookieHeader, 'x-csrf-token': csrf })).status,
      201,
    );
    assert.equal((await post('/v1/keys', newKey('bearer'), { authorization: `Bearer ${token}` })).status, 201);
    const list = await fetch(`${system.url}/v1/keys`, { headers: { cookie: cookieHeader } });
    assert.equal(list.status, 200, 'reads need no CSRF header');
  });

  it('logs out: the session stops working', async () => {
    const email = `leaver@${emailDomain}`;
    const login = await post('/v1/auth/login', { email, otp: await requestCode(email) });
    const { token } = (await login.json()) as { token: string };
    const auth = { authorization: `Bearer ${token}` };
    assert.equal((await post('/v1/auth/logout', {}, auth)).status, 204);
    assert.equal((await fetch(`${system.url}/v1/auth/session`, { headers: auth })).status, 401);
    assert.equal((await fetch(`${system.url}/v1/keys`, { headers: auth })).status, 401);
  });

  it('keeps codes and session tokens out of the database and the logs', async () => {
    const email = `secret@${emailDomain}`;
    const code = await requestCode(email);
    const login = await post('/v1/auth/login', { email, otp: code });
    const { token } = (await login.json()) as { token: string };
    for (const name of ['login_codes', 'sessions', 'users']) {
      const dump = JSON.stringify(await system.keysDb.collection(name).find({}).toArray());
      assert.ok(!dump.includes(token), `no session token in ${name}`);
      assert.ok(!new RegExp(`"${code}"|:${code}\\b`).test(dump), `no login code in ${name}`);
    }
    const logs = readFileSync(system.keyServiceLog, 'utf8');
    assert.ok(!logs.includes(token), 'no session token in key-service logs');
  });
});
