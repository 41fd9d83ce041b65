import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isolatedEnv, Mailpit, ServiceProcess } from '@keyward/testing';
import { csrfTokenFor, loggedInUser } from './support/accounts';
import { KeywardSystem } from './support/keyward-system';

/** A running key-service: the system's, or one a test starts with other settings. */
type KeyService = { url: string };

const KEY_HASH_SECRET = 'security-auth-test-key-hash-secret-0123456789';
const LOGIN_CODE_SEALING_KEY = 'security-auth-test-login-code-sealing-key-01';
const PRODUCTION_SECRETS = {
  KEY_HASH_SECRET,
  LOGIN_CODE_SEALING_KEY,
  KEY_VERIFY_CALLERS: `security-auth:${Buffer.alloc(32, 9).toString('base64')}`,
  VERIFY_SERVICE_TOKENS: 'security-auth-test-verify-service-token-0123',
  LEAK_REPORTER_TOKENS: 'security-auth-test-leak-reporter-token-012345',
  KEY_EVENTS_SIGNING_KEY: `security-auth:${generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'der' }).toString('base64')}`,
  LEAK_SCANNER_PUBLIC_KEYS: JSON.stringify({
    scanner: generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ type: 'spki', format: 'pem' }),
  }),
};

/** Runs a service's build with exactly `env` until it exits; its exit code and output. */
function runUntilExit(service: string, env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [resolve(__dirname, `../apps/${service}/src/main.js`)], {
    env: { PATH: process.env.PATH, ...env },
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((done) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, output });
    }),
  );
}

/**
 * Attacks on login and sessions (docs/SECURITY.md, "Production settings" and "Login and
 * sessions"), each against the running system with the refusal it must meet.
 */
describe('security: production settings, login and sessions', () => {
  const isolated = isolatedEnv();
  const { env, mongoUri, emailDomain } = isolated;
  const mailpit = new Mailpit();
  let system: KeywardSystem;

  const post = (path: string, body: unknown, headers: Record<string, string> = {}, service: KeyService = system) =>
    fetch(`${service.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
  /** As if from the client at `address` (the tests are the trusted proxy on loopback). */
  const from = (address: string) => ({ 'x-forwarded-for': address });

  async function requestCode(email: string, client: string, expectedEmails = 1, service: KeyService = system) {
    assert.equal((await post('/v1/auth/otp', { email }, from(client), service)).status, 204);
    await mailpit.waitFor(email, expectedEmails, { timeoutMs: 60_000 });
    const [newest] = (await mailpit.search(`to:"${email}"`)).sort((a, b) => b.Created.localeCompare(a.Created));
    const code = /\b(\d{6})\b/.exec((await mailpit.message(newest.ID)).Text)?.[1];
    assert.ok(code, `a 6-digit code in the email to ${email}`);
    return code;
  }

  const wrongCodeFor = (code: string) => (code === '000000' ? '000001' : '000000');

  before(async () => {
    system = await KeywardSystem.start(
      isolated,
      { KEY_HASH_SECRET, LOGIN_CODE_SEALING_KEY, TRUST_PROXY: '127.0.0.1' },
      // notification-service also opens the codes of the production instance below: they share its sealing key.
      { LOGIN_CODE_SEALING_KEY },
    );
  });

  after(async () => {
    await system?.stop();
  });

  describe('production cannot run on development secrets', () => {
    for (const [service, setting] of [
      ['key-service', 'KEY_HASH_SECRET'],
      ['notification-service', 'LOGIN_CODE_SEALING_KEY'],
    ]) {
      it(`${service} exits non-zero naming ${setting} with NODE_ENV=production or unset`, async () => {
        for (const mode of [{ NODE_ENV: 'production' }, {}] as Record<string, string>[]) {
          const { code, output } = await runUntilExit(service, { ...env, MONGO_URI: mongoUri('refused'), ...mode });
          assert.equal(code, 1, output);
          assert.match(output, new RegExp(`${setting}: must be set unless NODE_ENV is development or test`));
        }
      });
    }

    it('exits non-zero on a TRUST_PROXY that would trust every hop', async () => {
      const { code, output } = await runUntilExit('key-service', { ...env, NODE_ENV: 'test', TRUST_PROXY: 'true' });
      assert.equal(code, 1, output);
      assert.match(output, /TRUST_PROXY: expected false, a hop count/);
    });

    it('in production: Secure session cookie, HSTS (on verification’s answers too), no-store on tokens, no Swagger UI', async () => {
      const production = await ServiceProcess.start('key-service', {
        ...env,
        ...PRODUCTION_SECRETS,
        NODE_ENV: 'production',
        MONGO_URI: mongoUri('production'),
      });
      try {
        const health = await fetch(`${production.url}/health`);
        assert.match(health.headers.get('strict-transport-security') ?? '', /max-age=31536000/);
        // Verification is answered ahead of Fastify, by a handler that sets the port's headers itself.
        const verify = await fetch(`${production.url}/v1/keys/verify`, { method: 'POST' });
        assert.equal(verify.status, 401);
        assert.match(verify.headers.get('strict-transport-security') ?? '', /max-age=31536000/, 'verify: HSTS');
        assert.equal(verify.headers.get('cache-control'), 'no-store', 'verify: no-store');
        assert.equal((await fetch(`${production.url}/docs`)).status, 404);
        const email = `secure@${emailDomain}`;
        const otp = await requestCode(email, '192.0.2.1', 1, production);
        const login = await post('/v1/auth/login', { email, otp }, {}, production);
        assert.equal(login.status, 200);
        assert.equal(login.headers.get('cache-control'), 'no-store', 'the login answer holds the session token');
        const cookies = login.headers.getSetCookie();
        assert.equal(cookies.length, 2);
        for (const cookie of cookies) assert.match(cookie, /;\s*Secure/i, cookie);
      } finally {
        await production.stop();
      }
      // In development and test: plain-HTTP cookies, no HSTS.
      const email = `plain@${emailDomain}`;
      const otp = await requestCode(email, '192.0.2.1');
      const login = await post('/v1/auth/login', { email, otp }, from('192.0.2.1'));
      assert.equal(login.status, 200);
      assert.ok(!login.headers.getSetCookie().some((c) => /;\s*Secure/i.test(c)));
      assert.equal(login.headers.get('strict-transport-security'), null);
    });

    it('serves the OpenAPI UI in development and test, unframeable', async () => {
      const docs = await fetch(`${system.url}/docs`);
      assert.equal(docs.status, 200);
      assert.equal(docs.headers.get('x-frame-options'), 'DENY');
      assert.match(docs.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
    });
  });

  describe('cross-site requests', () => {
    it('refuses a cross-site login, code request or key change with 403, before reading the body', async () => {
      const token = await loggedInUser(mongoUri('keys'), `victim@${emailDomain}`);
      const attempts = [
        post('/v1/auth/login', { email: `victim@${emailDomain}`, otp: '123456' }, { origin: 'https://evil.test' }),
        post('/v1/auth/otp', { email: `victim@${emailDomain}` }, { 'sec-fetch-site': 'cross-site' }),
        post('/v1/keys', { label: 'x', contacts: [] }, { authorization: `Bearer ${token}`, origin: 'null' }),
        // A form post: not even JSON, refused for where it comes from.
        fetch(`${system.url}/v1/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.test' },
          body: `email=victim%40${emailDomain}&otp=123456`,
        }),
      ];
      for (const res of await Promise.all(attempts)) {
        assert.equal(res.status, 403);
        assert.match(((await res.json()) as { detail: string }).detail, /changes must come from this site's own pages/);
      }
    });

    it("accepts the same changes from the site's own pages", async () => {
      const own = new URL(system.url).host;
      const res = await post(
        '/v1/auth/otp',
        { email: `own-page@${emailDomain}` },
        { origin: `http://${own}`, 'sec-fetch-site': 'same-origin', ...from('192.0.2.2') },
      );
      assert.equal(res.status, 204);
    });
  });

  describe('CSRF tokens', () => {
    it("refuses a cookie-authenticated change carrying another session's CSRF token", async () => {
      const mine = await loggedInUser(mongoUri('keys'), `csrf.mine@${emailDomain}`);
      const theirs = await loggedInUser(mongoUri('keys'), `csrf.theirs@${emailDomain}`);
      const asMe = (csrf: string) =>
        post(
          '/v1/keys',
          { label: `csrf ${csrf.slice(0, 6)}`, contacts: [`ops@${emailDomain}`] },
          { cookie: `keyward_session=${mine}; keyward_csrf=${csrf}`, 'x-csrf-token': csrf },
        );
      // A double-submit check would pass this (cookie and header agree); the token is not this session's.
      assert.equal((await asMe(csrfTokenFor(theirs, KEY_HASH_SECRET))).status, 403);
      assert.equal((await asMe('made-up-token')).status, 403);
      assert.equal((await asMe(csrfTokenFor(mine, KEY_HASH_SECRET))).status, 201);
    });
  });

  describe('one-time code guesses', () => {
    it('does not give a client more guesses with a new code', async () => {
      const email = `budget@${emailDomain}`;
      const client = '198.51.100.20';
      const first = await requestCode(email, client);
      for (let i = 0; i < 5; i++) {
        assert.equal((await post('/v1/auth/login', { email, otp: wrongCodeFor(first) }, from(client))).status, 401);
      }
      const second = await requestCode(email, client, 2);
      const refused = await post('/v1/auth/login', { email, otp: second }, from(client));
      assert.equal(refused.status, 429, 'the new, right code is refused: the guesses are spent');
      assert.ok(Number(refused.headers.get('retry-after')) > 0);
      assert.match(((await refused.json()) as { detail: string }).detail, /from your network/);
    });

    it("cannot be used by an attacker to lock the owner out from the owner's own address", async () => {
      const email = `owner@${emailDomain}`;
      const code = await requestCode(email, '203.0.113.50');
      for (let i = 0; i < 6; i++)
        await post('/v1/auth/login', { email, otp: wrongCodeFor(code) }, from('203.0.113.66'));
      assert.equal(
        (await post('/v1/auth/login', { email, otp: wrongCodeFor(code) }, from('203.0.113.66'))).status,
        429,
        'the attacker is out of guesses',
      );
      const owner = await post('/v1/auth/login', { email, otp: code }, from('203.0.113.50'));
      assert.equal(owner.status, 200, 'the owner still signs in, with the same code');
    });

    it('pauses an address for everyone once many networks together have guessed too often, and says so', async () => {
      const email = `ceiling@${emailDomain}`;
      // 4 networks x 5 guesses reach the per-address ceiling of 20 a day.
      for (let network = 1; network <= 4; network++) {
        for (let i = 0; i < 5; i++) {
          const res = await post('/v1/auth/login', { email, otp: '000000' }, from(`192.0.2.${100 + network}`));
          assert.equal(res.status, 401);
        }
      }
      const fifth = await post('/v1/auth/login', { email, otp: '000000' }, from('192.0.2.105'));
      assert.equal(fifth.status, 429);
      assert.match(((await fifth.json()) as { detail: string }).detail, /from several networks today/);
    });
  });
});
