import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { freePort, isolatedEnv, ServiceProcess, until } from '@keyward/testing';
import { generateKey } from '../apps/key-service/src/keys/key-format';
import { loggedInUser } from './support/accounts';
import { call } from './support/http';

const BILLING = 'billing-service-token-0123456789abcdefghij';
const MAILER = 'mailer-service-token-0123456789abcdefghijk';

/**
 * A caller whose lookups keep failing gets 429 for further failures, but never for a valid key:
 * junk sent through a caller (by its own users, say) cannot lock that caller's customers out.
 */
describe('failed verifications are rate limited per caller, valid keys never', () => {
  const { env, mongoUri, emailDomain } = isolatedEnv();
  let keyService: ServiceProcess;
  let internalUrl: string;
  let validKey: string;

  before(async () => {
    const internalPort = await freePort();
    internalUrl = `http://127.0.0.1:${internalPort}`;
    keyService = await ServiceProcess.start('key-service', {
      ...env,
      MONGO_URI: mongoUri('keys'),
      VERIFY_SERVICE_TOKENS: `${BILLING},${MAILER}`,
      VERIFY_HTTP_PORT: String(internalPort),
      VERIFY_FAILURES_PER_MINUTE: '5',
    });
    const token = await loggedInUser(mongoUri('keys'), `owner@${emailDomain}`);
    const created = await call<{ key: string }>(keyService.url, token, 'POST', '/v1/keys', {
      label: 'production',
      contacts: [`ops@${emailDomain}`],
    });
    assert.equal(created.status, 201);
    validKey = created.body.key;
  });

  after(async () => {
    await keyService?.stop();
  });

  const verify = (baseUrl: string, token: string, key: string) =>
    fetch(`${baseUrl}/v1/keys/verify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-service-token': token },
      body: JSON.stringify({ key }),
    });

  it('answers 429 with Retry-After for failed lookups past the caller’s budget, on both listeners, not for other callers', async () => {
    // Budgets are per clock minute: the failures below must fall in one.
    await until('20 s or more left in this minute', async () => Date.now() % 60_000 < 40_000, 25_000, 250);
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await verify(keyService.url, BILLING, generateKey('guess'));
      statuses.push(res.status);
      assert.deepEqual(await res.json(), { valid: false, reason: 'unknown' });
    }
    assert.deepEqual(statuses, [200, 200, 200, 200, 200]);

    const limited = await verify(keyService.url, BILLING, generateKey('guess'));
    assert.equal(limited.status, 429);
    const retryAfter = Number(limited.headers.get('retry-after'));
    assert.ok(retryAfter > 0 && retryAfter <= 60, `Retry-After ${retryAfter}`);
    assert.equal(((await limited.json()) as { status: number }).status, 429);

    const internal = await verify(internalUrl, BILLING, generateKey('guess'));
    assert.equal(internal.status, 429, 'the internal listener shares the caller’s budget');
    assert.ok(Number(internal.headers.get('retry-after')) > 0);

    const other = await verify(keyService.url, MAILER, generateKey('guess'));
    assert.equal(other.status, 200, 'another caller keeps its own budget');
  });

  it('answers a valid key, on both listeners, while the same caller is past its budget', async () => {
    // Spend the budget again, should the minute have turned since the test before.
    let status = 200;
    for (let i = 0; i < 6 && status !== 429; i++)
      status = (await verify(keyService.url, BILLING, generateKey('guess'))).status;
    assert.equal(status, 429, 'past the budget');
    for (const baseUrl of [keyService.url, internalUrl]) {
      const res = await verify(baseUrl, BILLING, validKey);
      assert.equal(res.status, 200, baseUrl);
      assert.equal(((await res.json()) as { valid: boolean }).valid, true);
    }
  });

  it('answers malformed keys unknown at no cost to the budget', async () => {
    for (let i = 0; i < 50; i++) {
      const res = await verify(keyService.url, MAILER, `not-a-key-${i}`);
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { valid: false, reason: 'unknown' });
    }
  });
});
