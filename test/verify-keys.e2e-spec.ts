import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { INestApplicationContext } from '@nestjs/common';
import { Topic, TOPIC_SPECS } from '@keyward/contracts';
import { KeyClient } from '@keyward/key-client';
import { freePort, isolatedEnv, ServiceProcess, sleep } from '@keyward/testing';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import mongoose from 'mongoose';
import { generateKey } from '../apps/key-service/src/keys/key-format';
import { loggedInUser } from './support/accounts';
import { startSampleService } from './support/sample-service';

const SERVICE_TOKEN = 'verify-e2e-service-token-0123456789abcdef';
/** The sample service's credentials for Kafka verification, as listed in KEY_VERIFY_CALLERS. */
const SAMPLE_CREDENTIALS = `sample-1:${randomBytes(32).toString('base64')}`;

interface CreatedKey {
  id: string;
  key: string;
  label: string;
  expiresAt: string;
}

/**
 * Key verification for internal services against the real stack: HTTP with a service token, and
 * Kafka request/reply through libs/key-client. Two key-service instances share one database, so a
 * revocation made on one must reach the other (and the key-client) through the key events.
 */
describe('key verification for internal services', () => {
  const { env, mongoUri, emailDomain } = isolatedEnv();
  const serviceEnv = {
    ...env,
    MONGO_URI: mongoUri('keys'),
    VERIFY_SERVICE_TOKENS: SERVICE_TOKEN,
    KEY_VERIFY_CALLERS: SAMPLE_CREDENTIALS,
    LAST_USED_FLUSH_MS: '200',
  };
  let first: ServiceProcess;
  let second: ServiceProcess;
  /** The first instance's internal verification listener (VERIFY_HTTP_PORT). */
  let internalUrl: string;
  let sample: INestApplicationContext;
  let keyClient: KeyClient;
  let token: string;
  let ownerId: string;

  const api = (service: ServiceProcess, method: string, path: string, body?: unknown) =>
    fetch(`${service.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  const verifyOverHttp = (baseUrl: string, body: unknown, serviceToken: string | null = SERVICE_TOKEN) =>
    fetch(`${baseUrl}/v1/keys/verify`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(serviceToken === null ? {} : { 'x-service-token': serviceToken }),
      },
      body: JSON.stringify(body),
    });

  async function verify(verifier: ServiceProcess | string, key: string): Promise<Record<string, unknown>> {
    const res = await verifyOverHttp(typeof verifier === 'string' ? verifier : verifier.url, { key });
    assert.equal(res.status, 200);
    return (await res.json()) as Record<string, unknown>;
  }

  async function createKey(label: string, via = first): Promise<CreatedKey> {
    const res = await api(via, 'POST', '/v1/keys', { label, contacts: [`ops@${emailDomain}`] });
    assert.equal(res.status, 201, await res.clone().text());
    return (await res.json()) as CreatedKey;
  }

  const validAnswer = (created: CreatedKey) => ({
    valid: true,
    keyId: created.id,
    owner: ownerId,
    label: created.label,
    expiresAt: created.expiresAt,
  });

  /** Polls until the answer is revoked; returns how long that took after `since`. */
  async function untilRevoked(ask: () => Promise<unknown>, since: number): Promise<number> {
    const deadline = since + 15_000;
    for (;;) {
      const answer = await ask();
      if ((answer as { reason?: string }).reason === 'revoked') return Date.now() - since;
      assert.equal((answer as { valid: boolean }).valid, true, `unexpected answer ${JSON.stringify(answer)}`);
      if (Date.now() > deadline) assert.fail('the revocation never arrived');
      await sleep(20);
    }
  }

  before(async () => {
    const internalPort = await freePort();
    internalUrl = `http://127.0.0.1:${internalPort}`;
    [first, second] = await Promise.all([
      ServiceProcess.start(
        'key-service',
        { ...serviceEnv, VERIFY_HTTP_PORT: String(internalPort) },
        { timeoutMs: 60_000 },
      ),
      ServiceProcess.start('key-service', serviceEnv, { timeoutMs: 60_000 }),
    ]);
    sample = await startSampleService(env, SAMPLE_CREDENTIALS);
    keyClient = sample.get(KeyClient);
    const email = `alice.tan@${emailDomain}`;
    token = await loggedInUser(mongoUri('keys'), email);
    const db = await mongoose.createConnection(mongoUri('keys')).asPromise();
    ownerId = ((await db.collection('users').findOne({ email }))?._id as mongoose.Types.ObjectId).toHexString();
    await db.close();
  });

  after(async () => {
    await sample?.close();
    await Promise.all([first?.stop(), second?.stop()]);
  });

  describe('over HTTP', () => {
    it('answers a valid key with its id, owner, label and expiry, on every instance and listener', async () => {
      const created = await createKey('http valid');
      assert.deepEqual(await verify(first, created.key), validAnswer(created));
      assert.deepEqual(await verify(internalUrl, created.key), validAnswer(created));
      assert.deepEqual(await verify(second, created.key), validAnswer(created));
      assert.deepEqual(await verify(first, created.key), validAnswer(created), 'the same from the cache');
    });

    it('answers a key stored by a version before ids were derived from keys (a random id)', async () => {
      // Created through the second instance, which caches its answer as it creates it: the first
      // has never seen it, as no running instance saw a key the previous version stored.
      const created = await createKey('http random id', second);
      const db = await mongoose.createConnection(mongoUri('keys')).asPromise();
      const movedId = new mongoose.Types.ObjectId();
      try {
        const keys = db.collection('keys');
        const doc = await keys.findOne({ _id: new mongoose.Types.ObjectId(created.id) });
        assert.ok(doc, 'a new key is stored under the id the API gave');
        // Deleted first: the copy has the same hash, which is unique.
        await keys.deleteOne({ _id: doc._id });
        await keys.insertOne({ ...doc, _id: movedId });
      } finally {
        await db.close();
      }
      // Never verified there before, so no cache holds it: it looks it up by hash.
      const moved = { ...validAnswer(created), keyId: movedId.toHexString() };
      assert.deepEqual(await verify(first, created.key), moved);
      assert.deepEqual(await verify(internalUrl, created.key), moved, 'the same from the cache');
    });

    it('writes no request log line per verification, while other requests keep theirs', async () => {
      const created = await createKey('http unlogged');
      for (let i = 0; i < 5; i++) await verify(first, created.key);
      assert.equal((await verifyOverHttp(first.url, { key: created.key }, null)).status, 401);
      // Log lines are written in order: once the next create's is there, any verification's would be.
      const after = await createKey('http unlogged, after');
      const deadline = Date.now() + 10_000;
      let log = '';
      while (!log.includes(after.id) && Date.now() < deadline) {
        await sleep(100);
        log = readFileSync(first.logFile, 'utf8');
      }
      const requests = log
        .split('\n')
        .filter((line) => /"msg":"request (completed|errored)"/.test(line))
        .map((line) => (JSON.parse(line) as { req: { url: string } }).req.url);
      assert.ok(requests.includes('/v1/keys'), 'creates are logged');
      assert.deepEqual(
        requests.filter((url) => url === '/v1/keys/verify'),
        [],
        'no verification, answered or refused, has a request log line',
      );
    });

    it('answers unknown for a well-formed key that does not exist', async () => {
      assert.deepEqual(await verify(first, generateKey('alicetan')), { valid: false, reason: 'unknown' });
      assert.deepEqual(await verify(internalUrl, generateKey('alicetan')), { valid: false, reason: 'unknown' });
    });

    it('answers unknown for a malformed key', async () => {
      const created = await createKey('http malformed');
      const i = created.key.length - 10;
      const altered = created.key.slice(0, i) + (created.key[i] === 'a' ? 'b' : 'a') + created.key.slice(i + 1);
      for (const key of [altered, created.key.slice(0, -1), `${created.key}x`, 'not a key', '']) {
        assert.deepEqual(await verify(first, key), { valid: false, reason: 'unknown' }, JSON.stringify(key));
        assert.deepEqual(await verify(internalUrl, key), { valid: false, reason: 'unknown' }, JSON.stringify(key));
      }
    });

    it('refuses a request without the service token, or with a wrong one, with 401', async () => {
      const created = await createKey('http token');
      for (const serviceToken of [null, '', 'wrong-token-0123456789abcdef0123456789', `${SERVICE_TOKEN}x`])
        for (const baseUrl of [first.url, internalUrl]) {
          const res = await verifyOverHttp(baseUrl, { key: created.key }, serviceToken);
          assert.equal(res.status, 401, `${baseUrl} ${JSON.stringify(serviceToken)}`);
          assert.match(res.headers.get('content-type') ?? '', /application\/problem\+json/);
          const body = (await res.json()) as { detail: string };
          assert.match(body.detail, /x-service-token/);
          assert.ok(!JSON.stringify(body).includes(created.id), 'says nothing about the key');
        }
      for (const baseUrl of [first.url, internalUrl]) {
        const session = await fetch(`${baseUrl}/v1/keys/verify`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ key: created.key }),
        });
        assert.equal(session.status, 401, 'a user session is not a service token');
      }
    });

    it('refuses a body without a key, or with a key that is not text, with 400 naming the field', async () => {
      for (const [body, field] of [
        [{}, 'key'],
        [{ key: 42 }, 'key'],
        [{ key: 'x'.repeat(300) }, 'key'],
        [{ key: 'a', extra: 1 }, 'extra'],
        [null, 'key'],
      ] as const)
        for (const baseUrl of [first.url, internalUrl]) {
          const res = await verifyOverHttp(baseUrl, body);
          assert.equal(res.status, 400, `${baseUrl} ${JSON.stringify(body)}`);
          assert.match(res.headers.get('content-type') ?? '', /application\/problem\+json/);
          const problem = (await res.json()) as { errors: { field: string; message: string }[] };
          assert.deepEqual(
            problem.errors.map((e) => e.field),
            [field],
            JSON.stringify(problem),
          );
        }
      for (const baseUrl of [first.url, internalUrl]) {
        const res = await fetch(`${baseUrl}/v1/keys/verify`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-service-token': SERVICE_TOKEN },
          body: '{"key": ',
        });
        assert.equal(res.status, 400, `${baseUrl}: unparseable JSON`);
      }
    });

    it('answers expired for the old key of a rotation without grace, and valid for the new one', async () => {
      const old = await createKey('http rotated');
      assert.equal((await verify(second, old.key)).valid, true, 'cached as valid on the second instance');
      const res = await api(first, 'POST', `/v1/keys/${old.id}/rotate`, { graceHours: 0 });
      assert.equal(res.status, 201, await res.clone().text());
      const replacement = (await res.json()) as CreatedKey;
      assert.deepEqual(await verify(first, old.key), { valid: false, reason: 'expired' });
      assert.deepEqual(await verify(first, replacement.key), validAnswer(replacement));
      const deadline = Date.now() + 15_000;
      while ((await verify(second, old.key)).valid && Date.now() < deadline) await sleep(20);
      assert.deepEqual(await verify(second, old.key), { valid: false, reason: 'expired' });
    });

    it('records lastUsedAt in a batch, shown by GET /v1/keys', async () => {
      const created = await createKey('http last used');
      const listed = async () =>
        ((await (await api(first, 'GET', '/v1/keys')).json()) as { id: string; lastUsedAt: string | null }[]).find(
          (k) => k.id === created.id,
        );
      assert.equal((await listed())?.lastUsedAt, null, 'never used yet');
      const before = Date.now();
      await verify(second, created.key);
      let lastUsedAt: string | null | undefined = null;
      const deadline = Date.now() + 15_000;
      while (!lastUsedAt && Date.now() < deadline) {
        await sleep(100);
        lastUsedAt = (await listed())?.lastUsedAt;
      }
      assert.ok(lastUsedAt, 'lastUsedAt appears after a flush');
      assert.ok(Date.parse(lastUsedAt) >= before - 1000 && Date.parse(lastUsedAt) <= Date.now(), lastUsedAt);
    });
  });

  describe('over Kafka request/reply through libs/key-client', () => {
    it('answers a valid key with the same shape as HTTP', async () => {
      const created = await createKey('kafka valid');
      assert.deepEqual(await keyClient.verify(created.key), validAnswer(created));
      assert.deepEqual(await keyClient.verify(created.key), validAnswer(created), 'again, from its cache');
    });

    it('answers unknown for a key that does not exist or is malformed', async () => {
      assert.deepEqual(await keyClient.verify(generateKey('alicetan')), { valid: false, reason: 'unknown' });
      assert.deepEqual(await keyClient.verify('not a key'), { valid: false, reason: 'unknown' });
    });

    it('answers expired for the old key of a rotation without grace', async () => {
      const old = await createKey('kafka rotated');
      const res = await api(first, 'POST', `/v1/keys/${old.id}/rotate`, { graceHours: 0 });
      assert.equal(res.status, 201);
      assert.deepEqual(await keyClient.verify(old.key), { valid: false, reason: 'expired' });
    });

    it('keeps answering after messages without a reply address or with garbage land on every partition', async () => {
      const kafka = new Kafka({
        clientId: 'verify-e2e',
        brokers: env.KAFKA_BROKERS.split(','),
        logLevel: logLevel.NOTHING,
      });
      const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
      await producer.connect();
      try {
        const partitions = TOPIC_SPECS[Topic.KeyVerify].partitions;
        await producer.send({
          topic: env.KAFKA_TOPIC_NAMESPACE + Topic.KeyVerify,
          messages: Array.from({ length: partitions }, (_, partition) => [
            { partition, value: 'not json' },
            { partition, value: JSON.stringify({ version: 1, sealedKey: 'x' }) },
            { partition, value: 'not json', headers: { kafka_correlationId: 'c1', kafka_replyTopic: 'nowhere' } },
          ]).flat(),
        });
      } finally {
        await producer.disconnect();
      }
      // Requests go to partitions at random: enough distinct keys (no cache) to touch every partition.
      const answers = await Promise.all(Array.from({ length: 24 }, () => keyClient.verify(generateKey('alicetan'))));
      assert.deepEqual(
        new Set(answers.map((a) => JSON.stringify(a))),
        new Set([JSON.stringify({ valid: false, reason: 'unknown' })]),
      );
    });

    it('gets no answer when its key id is not among key-service’s callers', async () => {
      const stranger = await startSampleService(env, `stranger-1:${randomBytes(32).toString('base64')}`, 3_000);
      try {
        const created = await createKey('kafka unknown caller');
        await assert.rejects(stranger.get(KeyClient).verify(created.key), { name: 'TimeoutError' });
      } finally {
        await stranger.close();
      }
    });
  });

  it('runs key-service’s main thread below the internal listener’s worker, so key creation yields the core to verification', () => {
    // Linux: each thread's nice value is the 19th field of /proc/<pid>/task/<tid>/stat.
    const niceOf = (pid: number, tid: string) =>
      Number(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ')[16]);
    const withWorker = first.pid!;
    const threads = readdirSync(`/proc/${withWorker}/task`);
    assert.equal(niceOf(withWorker, String(withWorker)), 5, 'the main thread yields');
    assert.ok(
      threads.some((tid) => niceOf(withWorker, tid) === 0),
      'the worker (and V8’s threads) keep the nice value they started with',
    );
    assert.equal(niceOf(second.pid!, String(second.pid)), 0, 'without an internal listener nothing changes');
  });

  it('a revocation reaches the revoking instance at once, and the other instance and the key-client within 1 s', async (t) => {
    const created = await createKey('revoked');
    assert.equal((await verify(first, created.key)).valid, true);
    // Cached by the internal listener's worker too, which must drop it when the revoking thread does.
    assert.equal((await verify(internalUrl, created.key)).valid, true);
    assert.equal((await verify(second, created.key)).valid, true);
    assert.equal((await keyClient.verify(created.key)).valid, true);

    const res = await api(first, 'DELETE', `/v1/keys/${created.id}`);
    assert.equal(res.status, 204);
    const revokedAt = Date.now();
    assert.deepEqual(await verify(first, created.key), { valid: false, reason: 'revoked' }, 'at once where revoked');
    assert.deepEqual(await verify(internalUrl, created.key), { valid: false, reason: 'revoked' });
    const [viaSecond, viaClient] = await Promise.all([
      untilRevoked(() => verify(second, created.key), revokedAt),
      untilRevoked(() => keyClient.verify(created.key), revokedAt),
    ]);
    t.diagnostic(
      `revocation seen by the other instance after ${viaSecond} ms, by the key-client after ${viaClient} ms`,
    );
    assert.ok(viaSecond <= 1000, `second instance took ${viaSecond} ms`);
    assert.ok(viaClient <= 1000, `key-client took ${viaClient} ms`);
  });
});
