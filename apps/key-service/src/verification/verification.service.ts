import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { KeyVerification } from '@keyward/contracts';
import { KafkaConsumerFactory, ManagedConsumer } from '@keyward/kafka';
import { Cacheable, keyInvalidationConsumer, VerificationCache } from '@keyward/key-client';
import { Clock } from '@keyward/platform';
import { hasValidChecksum } from '../keys/key-format';
import { KeyHasher } from '../keys/key-hasher';
import { KeyChanges } from '../keys/key-changes';
import { KeyStatus } from '../keys/key.schema';
import { FailureBudget } from './failure-budget';
import { LastUsedRecorder } from './last-used.recorder';
import { VerificationRepository } from './verification.repository';

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
    config: ConfigService,
  ) {
    this.cache = new VerificationCache({
      maxEntries: config.getOrThrow<number>('VERIFY_CACHE_MAX_ENTRIES'),
      now: () => this.clock.now().getTime(),
    });
    this.ttlMs = config.getOrThrow<number>('VERIFY_CACHE_TTL_MS');
    this.negativeTtlMs = config.getOrThrow<number>('VERIFY_NEGATIVE_CACHE_TTL_MS');
    this.failures = new FailureBudget(config.getOrThrow<number>('VERIFY_FAILURES_PER_MINUTE'), 60_000, () =>
      this.clock.now().getTime(),
    );
    keyChanges.onChange((keyId) => this.forget(keyId));
    this.invalidations = keyInvalidationConsumer(consumers, 'key-service-cache', (keyId) => this.forget(keyId));
  }

  /** Joins the key-events topic before serving, so no invalidation is missed once answers are cached. */
  async onApplicationBootstrap(): Promise<void> {
    await this.invalidations.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.invalidations.stop();
  }

  async verify(key: string): Promise<KeyVerification> {
    // A malformed key is answered without hashing or lookup: cheap to reject noise and guesses.
    if (!hasValidChecksum(key)) return UNKNOWN;
    const result = await this.cache.resolve(this.hasher.hash(key), (hash) => this.lookup(hash));
    if (result.valid) this.lastUsed.record(result.keyId, this.clock.now());
    return result;
  }

  /** verify() for an HTTP caller: one whose keys keep failing gets 429 for the rest of the minute. */
  async verifyFor(caller: string, key: string): Promise<KeyVerification> {
    this.failures.check(caller);
    const result = await this.verify(key);
    if (!result.valid) this.failures.recordFailure(caller);
    return result;
  }

  private forget(keyId: string): void {
    if (this.cache.dropKey(keyId)) this.logger.debug({ keyId }, 'dropped cached verification');
  }

  private async lookup(hash: string): Promise<Cacheable<KeyVerification>> {
    const key = await this.keys.findByHash(hash);
    const now = this.clock.now().getTime();
    const negative = (value: KeyVerification, keyId?: string) => ({
      value,
      keyId,
      expiresAtMs: now + this.negativeTtlMs,
    });
    if (!key) return negative(UNKNOWN);
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
