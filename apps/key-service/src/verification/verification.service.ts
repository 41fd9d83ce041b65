import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { isNotAKey, KeyVerification } from '@keyward/contracts';
import { KafkaConsumerFactory, ManagedConsumer } from '@keyward/kafka';
import { Cacheable, keyInvalidationConsumer, VerificationCache } from '@keyward/key-client';
import { Clock } from '@keyward/platform';
import { VerificationFailuresRecorder } from '../activity/verification-failures.recorder';
import { KeyServiceSettings } from '../config/key-service.env';
import { KeyHasher } from '../hashing/key-hasher';
import { KeyChanges } from '../keys/key-changes';
import { KeyStatus } from '../keys/key.schema';
import { FailureBudget } from './failure-budget';
import { LastUsedRecorder } from './last-used.recorder';
import { VerificationMetrics, VerificationSource } from './verification.metrics';
import { KeyForVerification, VerificationRepository } from './verification.repository';

const UNKNOWN: KeyVerification = { valid: false, reason: 'unknown' };

/**
 * Answers "is this key valid?" for internal services. A key is valid when its hash is found, it
 * is active and now < expiresAt. Answers are cached by hash, so a key seen recently costs no
 * database round trip; key events (from every instance, via Kafka) and local changes (at once)
 * drop a key from the cache.
 */
@Injectable()
export class VerificationService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(VerificationService.name);
  private readonly cache: VerificationCache<KeyVerification>;
  private readonly ttlMs: number;
  private readonly negativeTtlMs: number;
  private readonly invalidations: ManagedConsumer;
  private readonly failures: FailureBudget;

  constructor(
    private readonly keys: VerificationRepository,
    private readonly hasher: KeyHasher,
    private readonly lastUsed: LastUsedRecorder,
    private readonly clock: Clock,
    keyChanges: KeyChanges,
    consumers: KafkaConsumerFactory,
    settings: KeyServiceSettings,
    private readonly metrics: VerificationMetrics,
    private readonly refusals: VerificationFailuresRecorder,
  ) {
    this.cache = new VerificationCache({
      maxEntries: settings.VERIFY_CACHE_MAX_ENTRIES,
      now: () => this.clock.now().getTime(),
    });
    this.ttlMs = settings.VERIFY_CACHE_TTL_MS;
    this.negativeTtlMs = settings.VERIFY_NEGATIVE_CACHE_TTL_MS;
    this.failures = new FailureBudget(settings.VERIFY_FAILURES_PER_MINUTE, 60_000, () => this.clock.now().getTime());
    keyChanges.onChange((keyId) => this.forget(keyId));
    // Its first verification (usually moments later, often here) then needs no lookup.
    keyChanges.onCreated((key) =>
      this.cache.set(key.hash, this.answerFor({ ...key, status: KeyStatus.Active }, this.clock.now().getTime())),
    );
    this.invalidations = keyInvalidationConsumer(consumers, 'key-service-cache', {
      dropKey: (keyId) => this.forget(keyId),
      dropAll: () => this.cache.clear(),
    });
  }

  /** Joins the key-events topic before serving, so no invalidation is missed once answers are cached. */
  async onApplicationBootstrap(): Promise<void> {
    await this.invalidations.start();
    this.logger.log('following key events: cached answers are dropped on revocation, expiry, rotation');
  }

  async onApplicationShutdown(): Promise<void> {
    await this.invalidations.stop();
  }

  verify(key: string): Promise<KeyVerification> {
    // Noise (a v1 key with a wrong checksum, text too short for any key) costs no hash or lookup.
    return isNotAKey(key) ? Promise.resolve(this.notAKey()) : this.answer(key);
  }

  /**
   * verify() for an HTTP caller. Failed lookups count against the caller's budget, and past it a
   * failure is answered 429; a valid key is always answered (docs/SECURITY.md, "Verification").
   */
  async verifyFor(caller: string, key: string): Promise<KeyVerification> {
    if (isNotAKey(key)) return this.notAKey();
    const result = await this.answer(key);
    if (!result.valid) this.failures.spend(caller);
    return result;
  }

  /** By hash, from the cache or the database; legacy keys (no v1 shape) take this path too. */
  private async answer(key: string): Promise<KeyVerification> {
    const started = performance.now();
    let source: VerificationSource = 'hit';
    let loaded: Cacheable<KeyVerification> | undefined;
    const hash = this.hasher.hash(key);
    const result = await this.cache.resolve(hash, async (h) => {
      source = 'miss';
      return (loaded = await this.lookup(this.hasher.idOf(key), h));
    });
    if (result.valid) this.lastUsed.record(result.keyId, this.clock.now());
    else if (result.reason !== 'unknown') {
      // A revoked or expired key still in use: its account's activity counts the refusals.
      const keyId = this.cache.keyIdOf(hash) ?? loaded?.keyId;
      if (keyId) this.refusals.record(keyId, result.reason);
    }
    this.metrics.record(result, source, (performance.now() - started) / 1000);
    return result;
  }

  private notAKey(): KeyVerification {
    this.metrics.record(UNKNOWN, 'not_a_key', 0);
    return UNKNOWN;
  }

  private forget(keyId: string): void {
    if (this.cache.dropKey(keyId)) this.logger.debug({ keyId }, 'dropped cached verification');
  }

  private async lookup(id: string, hash: string): Promise<Cacheable<KeyVerification>> {
    return this.answerFor(await this.keys.findForVerification(id, hash), this.clock.now().getTime());
  }

  /** The answer for a key as stored (null: no such key), and how long it may be cached. */
  private answerFor(key: KeyForVerification | null, now: number): Cacheable<KeyVerification> {
    const negative = (value: KeyVerification, keyId?: string) => ({
      value,
      keyId,
      expiresAtMs: now + this.negativeTtlMs,
    });
    // A pending replacement's text has not been handed out yet: to a caller it does not exist.
    if (!key || key.status === KeyStatus.Pending) return negative(UNKNOWN);
    if (key.status === KeyStatus.Revoked) return negative({ valid: false, reason: 'revoked' }, key.id);
    const expiresAtMs = key.expiresAt.getTime();
    if (key.status === KeyStatus.Expired || expiresAtMs <= now)
      return negative({ valid: false, reason: 'expired' }, key.id);
    return {
      value: {
        valid: true,
        keyId: key.id,
        owner: key.ownerId,
        label: key.label,
        expiresAt: key.expiresAt.toISOString(),
      },
      keyId: key.id,
      // Never trusted past the key's own expiry: the next verification after it finds it expired.
      expiresAtMs: Math.min(now + this.ttlMs, expiresAtMs),
    };
  }
}
