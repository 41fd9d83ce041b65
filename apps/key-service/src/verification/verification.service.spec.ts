import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { KafkaConsumerFactory } from '@keyward/kafka';
import { Clock, TooManyRequestsException } from '@keyward/platform';
import { Registry } from 'prom-client';
import { KeyServiceSettings } from '../config/key-service.env';
import { generateKey } from '../keys/key-format';
import { KeyChanges } from '../keys/key-changes';
import { KeyHasher } from '../hashing/key-hasher';
import { KeyStatus } from '../keys/key.schema';
import { LastUsedRecorder } from './last-used.recorder';
import { KeysRepository } from '../keys/keys.repository';
import { KeyForVerification, VerificationRepository } from './verification.repository';
import { VerificationMetrics } from './verification.metrics';
import { VerificationService } from './verification.service';
import { VerificationReports } from './verification-reports';
import { VerificationFailuresRecorder } from '../activity/verification-failures.recorder';

const config = {
  KEY_HASH_SECRET: 'x'.repeat(32),
  VERIFY_CACHE_MAX_ENTRIES: 100,
  VERIFY_CACHE_TTL_MS: 60_000,
  VERIFY_NEGATIVE_CACHE_TTL_MS: 5_000,
  VERIFY_FAILURES_PER_MINUTE: 3,
  LAST_USED_FLUSH_MS: 1_000,
} as unknown as KeyServiceSettings;
const hasher = new KeyHasher(config);
const DAY = 24 * 60 * 60 * 1000;

class FakeKeys {
  readonly byHash = new Map<string, KeyForVerification>();
  lookups = 0;
  /** The ids lookups were asked for, beside the hash. */
  readonly ids: string[] = [];
  lastUsed = new Map<string, Date>();
  async findForVerification(id: string, hash: string) {
    this.lookups++;
    this.ids.push(id);
    return this.byHash.get(hash) ?? null;
  }
  async recordLastUsed(times: Map<string, Date>) {
    for (const [id, at] of times) this.lastUsed.set(id, at);
  }
}

describe('verification service', () => {
  let keys: FakeKeys;
  let clock: { now(): Date; at: number };
  let changes: KeyChanges;
  let lastUsed: LastUsedRecorder;
  let service: VerificationService;
  let registry: Registry;
  /** Refusals of known keys handed to the account's activity. */
  let refused: [string, string][];
  const key = generateKey('alice');
  /** keyward_verifications_total by "result/cache". */
  const counted = async () =>
    Object.fromEntries(
      (await registry.getSingleMetric('keyward_verifications_total')!.get()).values.map((v) => [
        `${v.labels.result}/${v.labels.cache}`,
        v.value,
      ]),
    );

  function store(status: KeyStatus, expiresInMs: number) {
    keys.byHash.set(hasher.hash(key), {
      id: 'k1',
      ownerId: 'u1',
      label: 'prod',
      status,
      expiresAt: new Date(clock.at + expiresInMs),
    });
  }

  beforeEach(() => {
    keys = new FakeKeys();
    clock = {
      at: Date.parse('2026-11-27T00:00:00Z'),
      now() {
        return new Date(this.at);
      },
    };
    changes = new KeyChanges();
    refused = [];
    lastUsed = new LastUsedRecorder(keys as unknown as KeysRepository, config);
    const consumers = { create: () => ({ start: async () => undefined, stop: async () => undefined }) };
    service = new VerificationService(
      keys as unknown as VerificationRepository,
      hasher,
      clock as unknown as Clock,
      changes,
      consumers as unknown as KafkaConsumerFactory,
      config,
      new VerificationReports(
        lastUsed,
        {
          record: (keyId: string, reason: string) => refused.push([keyId, reason]),
        } as unknown as VerificationFailuresRecorder,
        new VerificationMetrics((registry = new Registry())),
      ),
    );
  });

  it('answers a valid key with its id, owner, label and expiry, and looks it up only once', async () => {
    store(KeyStatus.Active, 30 * DAY);
    const expected = {
      valid: true,
      keyId: 'k1',
      owner: 'u1',
      label: 'prod',
      expiresAt: new Date(clock.at + 30 * DAY).toISOString(),
    };
    assert.deepEqual(await service.verify(key), expected);
    assert.deepEqual(await service.verify(key), expected);
    assert.equal(keys.lookups, 1, 'the second verification came from the cache');
    assert.deepEqual(keys.ids, [hasher.idOf(key)], 'looked up by the id derived from the key');
    assert.deepEqual(await counted(), { 'valid/miss': 1, 'valid/hit': 1 });
  });

  it('answers a key created on this instance without a lookup, and forgets it when it changes', async () => {
    const expiresAt = new Date(clock.at + 30 * DAY);
    changes.created({ id: 'k1', hash: hasher.hash(key), ownerId: 'u1', label: 'prod', expiresAt });
    const expected = { valid: true, keyId: 'k1', owner: 'u1', label: 'prod', expiresAt: expiresAt.toISOString() };
    assert.deepEqual(await service.verify(key), expected);
    assert.equal(keys.lookups, 0, 'its first verification came from the cache');
    store(KeyStatus.Revoked, 30 * DAY);
    changes.changed('k1');
    assert.deepEqual(await service.verify(key), { valid: false, reason: 'revoked' });
    assert.equal(keys.lookups, 1);
  });

  it('passes answers cached at creation, every drop and every failure on to a verifier that follows it', async () => {
    const followed: string[] = [];
    service.follow({
      remember: (hash, answer) => followed.push(`remember ${hash === hasher.hash(key)} ${answer.keyId}`),
      forget: (keyId) => followed.push(`forget ${keyId}`),
      forgetAll: () => followed.push('forget all'),
      failed: (caller) => followed.push(`failed ${caller}`),
    });
    changes.created({
      id: 'k1',
      hash: hasher.hash(key),
      ownerId: 'u1',
      label: 'prod',
      expiresAt: new Date(clock.at + DAY),
    });
    changes.changed('k2');
    await service.verifyFor('billing', generateKey('guess'));
    assert.deepEqual(
      followed,
      ['remember true k1', 'forget k2', 'failed billing'],
      'a drop is passed on even when nothing here was cached',
    );
  });

  it("counts a caller's failures answered by the follower against the same budget", async () => {
    for (let i = 0; i < 3; i++) service.countFailure('billing');
    await assert.rejects(service.verifyFor('billing', generateKey('guess')), TooManyRequestsException);
    assert.deepEqual(await service.verifyFor('mailer', generateKey('guess')), { valid: false, reason: 'unknown' });
  });

  it('rejects a malformed key without any lookup', async () => {
    store(KeyStatus.Active, 30 * DAY);
    const tampered = key.slice(0, -1) + (key.endsWith('a') ? 'b' : 'a');
    assert.deepEqual(await service.verify(tampered), { valid: false, reason: 'unknown' });
    assert.deepEqual(await service.verify(''), { valid: false, reason: 'unknown' });
    assert.equal(keys.lookups, 0);
    assert.deepEqual(await counted(), { 'unknown/not_a_key': 2 });
  });

  it('counts refusals of a revoked key in use for its activity, from the database and from the cache', async () => {
    store(KeyStatus.Revoked, 60_000);
    await service.verify(key);
    await service.verify(key);
    await service.verify(generateKey('alice'));
    assert.deepEqual(refused, [
      ['k1', 'revoked'],
      ['k1', 'revoked'],
    ]);
  });

  it('answers unknown, revoked and expired keys', async () => {
    assert.deepEqual(await service.verify(key), { valid: false, reason: 'unknown' });
    clock.at += 5_000;
    store(KeyStatus.Revoked, 30 * DAY);
    assert.deepEqual(await service.verify(key), { valid: false, reason: 'revoked' });
    clock.at += 5_000;
    store(KeyStatus.Expired, 30 * DAY);
    assert.deepEqual(await service.verify(key), { valid: false, reason: 'expired' });
    clock.at += 5_000;
    store(KeyStatus.Active, 0);
    assert.deepEqual(await service.verify(key), { valid: false, reason: 'expired' }, 'active but past expiresAt');
  });

  it('stops trusting a cached key at its expiry', async () => {
    store(KeyStatus.Active, 1_000);
    assert.equal((await service.verify(key)).valid, true);
    clock.at += 1_000;
    assert.deepEqual(await service.verify(key), { valid: false, reason: 'expired' });
  });

  it('drops a key from the cache as soon as it changes in this process', async () => {
    store(KeyStatus.Active, 30 * DAY);
    assert.equal((await service.verify(key)).valid, true);
    store(KeyStatus.Revoked, 30 * DAY);
    changes.changed('k1');
    assert.deepEqual(await service.verify(key), { valid: false, reason: 'revoked' });
  });

  it('records lastUsedAt in a batch, the latest time per key', async () => {
    store(KeyStatus.Active, 30 * DAY);
    await service.verify(key);
    clock.at += 10;
    await service.verify(key);
    assert.equal(keys.lastUsed.size, 0, 'nothing written per request');
    await lastUsed.flush();
    assert.deepEqual(keys.lastUsed, new Map([['k1', new Date(clock.at)]]));
  });

  it('looks up a key without the v1 shape (a legacy import) by hash', async () => {
    const legacy = 'legacy_Zm9vYmFyYmF6cXV4cXV1eA';
    keys.byHash.set(hasher.hash(legacy), {
      id: 'k9',
      ownerId: 'u1',
      label: 'default',
      status: KeyStatus.Active,
      expiresAt: new Date(clock.at + DAY),
    });
    assert.equal((await service.verify(legacy)).valid, true);
    keys.byHash.get(hasher.hash(legacy))!.status = KeyStatus.Expired;
    changes.changed('k9');
    assert.deepEqual(await service.verify(legacy), { valid: false, reason: 'expired' });
  });

  it('answers a valid key even after the caller spent its failures; only failed lookups count', async () => {
    store(KeyStatus.Active, 30 * DAY);
    for (let i = 0; i < 10; i++)
      assert.deepEqual(await service.verifyFor('billing', 'junk'), { valid: false, reason: 'unknown' });
    for (let i = 0; i < 3; i++) assert.equal((await service.verifyFor('billing', generateKey('x'))).valid, false);
    await assert.rejects(service.verifyFor('billing', generateKey('x')), TooManyRequestsException);
    assert.equal((await service.verifyFor('billing', key)).valid, true, 'a valid key is never refused');
    assert.equal((await service.verifyFor('mailer', generateKey('x'))).valid, false, 'another caller has its own');
  });
});
