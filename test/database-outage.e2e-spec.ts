import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isolatedEnv, ServiceProcess, sleep } from '@keyward/testing';
import { loggedInUser } from './support/accounts';
import { FerretDbServer } from './support/ferretdb-server';

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
    keyService = await ServiceProcess.start('key-service', { ...env, MONGO_URI: mongoUri });
    token = await loggedInUser(mongoUri, `owner@${emailDomain}`);
  });

  after(async () => {
    await keyService?.stop();
    await database?.stop();
  });

  it('answers 503 with Retry-After, says in /health that the database is down, and recovers by itself', async () => {
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

    const health = (await answers('/health', 503, 15_000)).body as unknown as Health;
    assert.equal(health.error?.mongodb?.status, 'down', JSON.stringify(health));
    assert.equal(health.info?.kafka?.status, 'up', 'only the database is named as down');

    await database.resume();
    await answers('/v1/keys', 200, 30_000);
    const healthy = (await answers('/health', 200, 30_000)).body as unknown as Health;
    assert.equal(healthy.info?.mongodb?.status, 'up');
  });
});
