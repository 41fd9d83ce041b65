import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { freePort, isolatedEnv, ServiceProcess, sleep } from '@keyward/testing';
import { loggedInUser } from './support/accounts';
import { FerretDbServer } from './support/ferretdb-server';

const SERVICE_TOKEN = 'database-outage-e2e-service-token-0123456789';
/** Not a v1 key, long enough to be looked up as a legacy one: nothing answers it without the database. */
const LEGACY_LOOKING_KEY = 'legacy-outage-key-0123456789abcdef';

interface Health {
  status: string;
  info?: Record<string, { status: string }>;
  error?: Record<string, { status: string }>;
}

/** Degraded, not broken: key-service with its database down, then back. */
describe('key-service while its database is down', () => {
  const { env, emailDomain, id: testId } = isolatedEnv();
  let database: FerretDbServer;
  let keyService: ServiceProcess;
  let internalUrl: string;
  let token: string;

  const get = (path: string) =>
    fetch(`${keyService.url}${path}`, { headers: { authorization: `Bearer ${token}` } }).then(async (res) => ({
      status: res.status,
      retryAfter: res.headers.get('retry-after'),
      type: res.headers.get('content-type'),
      body: (await res.json()) as Record<string, unknown>,
    }));

  /** Polls until `path` answers `status`, failing after `ms`. */
  async function answers(path: string, status: number, ms: number) {
    const deadline = Date.now() + ms;
    for (;;) {
      const res = await get(path);
      if (res.status === status) return res;
      assert.ok(Date.now() < deadline, `${path} still answers ${res.status} after ${ms} ms, not ${status}`);
      await sleep(200);
    }
  }

  before(async () => {
    database = await FerretDbServer.start();
    const mongoUri = database.uri(`kw_${testId}_keys`);
    const internalPort = await freePort();
    internalUrl = `http://127.0.0.1:${internalPort}`;
    keyService = await ServiceProcess.start('key-service', {
      ...env,
      MONGO_URI: mongoUri,
      VERIFY_SERVICE_TOKENS: SERVICE_TOKEN,
      VERIFY_HTTP_PORT: String(internalPort),
    });
    token = await loggedInUser(mongoUri, `owner@${emailDomain}`);
  });

  after(async () => {
    await keyService?.stop();
    await database?.stop();
  });

  it('answers 503 with Retry-After (verification too, on both listeners, the key in no log), says in /health that the database is down, and recovers by itself', async () => {
    assert.equal((await get('/v1/keys')).status, 200);

    await database.stop();
    // Every request while it is down, whichever way the driver notices: never a 500.
    for (let i = 0; i < 5; i++) {
      const down = await get('/v1/keys');
      assert.equal(down.status, 503, JSON.stringify(down.body));
      assert.match(down.type ?? '', /application\/problem\+json/);
      assert.equal(down.body.status, 503);
      assert.match(String(down.body.detail), /unreachable right now/);
      assert.ok(Number(down.retryAfter) > 0, `Retry-After: ${down.retryAfter}`);
    }

    // Verification on both listeners (the public port's handler, the internal listener's worker): 503 too.
    for (const url of [keyService.url, internalUrl]) {
      const res = await fetch(`${url}/v1/keys/verify`, {
        method: 'POST',
        headers: { 'x-service-token': SERVICE_TOKEN, 'content-type': 'application/json' },
        body: JSON.stringify({ key: LEGACY_LOOKING_KEY }),
      });
      const text = await res.text();
      assert.equal(res.status, 503, `verify on ${url}: ${text}`);
      assert.match(res.headers.get('content-type') ?? '', /application\/problem\+json/);
      assert.ok(Number(res.headers.get('retry-after')) > 0, `verify on ${url}: Retry-After`);
      assert.doesNotMatch(text, new RegExp(LEGACY_LOOKING_KEY));
    }

    const health = (await answers('/health', 503, 15_000)).body as unknown as Health;
    assert.equal(health.error?.mongodb?.status, 'down', JSON.stringify(health));
    assert.equal(health.info?.kafka?.status, 'up', 'only the database is named as down');

    await database.resume();
    await answers('/v1/keys', 200, 30_000);
    const healthy = (await answers('/health', 200, 30_000)).body as unknown as Health;
    assert.equal(healthy.info?.mongodb?.status, 'up');
    assert.doesNotMatch(
      await readFile(keyService.logFile, 'utf8'),
      new RegExp(LEGACY_LOOKING_KEY),
      'the key is in no log line',
    );
  });
});
