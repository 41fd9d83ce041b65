import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { freePort, isolatedEnv, ServiceProcess } from '@keyward/testing';

const BILLING = 'billing-service-token-0123456789abcdefghij';
const MAILER = 'mailer-service-token-0123456789abcdefghijk';

/** A caller whose verifications keep failing is slowed down: a bound on guessing keys. */
describe('failed verifications are rate limited per caller', () => {
  const { env, mongoUri } = isolatedEnv();
  let keyService: ServiceProcess;
  let internalUrl: string;

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

  it('answers 429 with Retry-After after the caller’s failures for the minute, on both listeners, and not for other callers', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await verify(keyService.url, BILLING, `guess_v1_${'x'.repeat(30)}${i}`);
      statuses.push(res.status);
      assert.deepEqual(await res.json(), { valid: false, reason: 'unknown' });
    }
    assert.deepEqual(statuses, [200, 200, 200, 200, 200]);

    const limited = await verify(keyService.url, BILLING, 'another-guess');
    assert.equal(limited.status, 429);
    const retryAfter = Number(limited.headers.get('retry-after'));
    assert.ok(retryAfter > 0 && retryAfter <= 60, `Retry-After ${retryAfter}`);
    assert.equal(((await limited.json()) as { status: number }).status, 429);

    const internal = await verify(internalUrl, BILLING, 'another-guess');
    assert.equal(internal.status, 429, 'the internal listener shares the caller’s budget');
    assert.ok(Number(internal.headers.get('retry-after')) > 0);

    const other = await verify(keyService.url, MAILER, 'not-a-key');
    assert.equal(other.status, 200, 'another caller keeps its own budget');
  });
});
