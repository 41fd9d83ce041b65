import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { KeyVerification } from '@keyward/contracts';
import { KafkaConsumerFactory, ManagedConsumer } from '@keyward/kafka';
import { Cacheable, keyInvalidationConsumer } from '@keyward/key-client';
import { Clock } from '@keyward/platform';
import { KeyServiceSettings } from '../config/key-service.env';
import { KeyHasher } from '../hashing/key-hasher';
import { KeyChanges } from '../keys/key-changes';
import { KeyStatus } from '../keys/key.schema';
import { KeyVerifier, UNKNOWN } from './key-verifier';
import { VerificationReports } from './verification-reports';
import { KeyForVerification, VerificationRepository } from './verification.repository';

/**
 * Another verifier of this instance (the internal listener's worker), told what this one learns:
 * answers cached at creation, drops of cached answers, and failures spent from a caller's budget.
 */
export interface VerifierFollower {
  remember(hash: string, answer: Cacheable<KeyVerification>): void;
  forget(keyId: string): void;
  forgetAll(): void;
  failed(caller: string): void;
}

/**
 * Answers "is this key valid?" for internal services. A key is valid when its hash is found, it
 * is active and now < expiresAt. Answers are cached by hash (KeyVerifier), so a key seen recently
 * costs no database round trip; key events (from every instance, via Kafka) and local changes (at
 * once) drop a key from the cache, here and in every verifier that follows this one (follow()).
 */
@Injectable()
export class VerificationService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(VerificationService.name);
  private readonly verifier: KeyVerifier;
  private readonly ttlMs: number;
  private readonly negativeTtlMs: number;
  private readonly invalidations: ManagedConsumer;
  private readonly followers: VerifierFollower[] = [];

  constructor(
    private readonly keys: VerificationRepository,
    hasher: KeyHasher,
    private readonly clock: Clock,
    keyChanges: KeyChanges,
    consumers: KafkaConsumerFactory,
    settings: KeyServiceSettings,
    private readonly reports: VerificationReports,
  ) {
    this.verifier = new KeyVerifier({
      digests: hasher,
      lookup: (id, hash) => this.lookup(id, hash),
      report: reports,
      failedBy: (caller) => this.followers.forEach((follower) => follower.failed(caller)),
      maxEntries: settings.VERIFY_CACHE_MAX_ENTRIES,
      failuresPerMinute: settings.VERIFY_FAILURES_PER_MINUTE,
      now: () => this.clock.now().getTime(),
    });
    this.ttlMs = settings.VERIFY_CACHE_TTL_MS;
    this.negativeTtlMs = settings.VERIFY_NEGATIVE_CACHE_TTL_MS;
    keyChanges.onChange((keyId) => this.forget(keyId));
    // Its first verification (usually moments later, often here) then needs no lookup.
    keyChanges.onCreated((key) => {
      const answer = this.answerFor({ ...key, status: KeyStatus.Active }, this.clock.now().getTime());
      this.verifier.remember(key.hash, answer);
      for (const follower of this.followers) follower.remember(key.hash, answer);
    });
    this.invalidations = keyInvalidationConsumer(consumers, 'key-service-cache', {
      dropKey: (keyId) => this.forget(keyId),
      dropAll: () => this.forgetAll(),
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
    return this.verifier.verify(key);
  }

  /** verify() for an HTTP caller, whose failures count against its budget (KeyVerifier.verifyFor). */
  verifyFor(caller: string, key: string): Promise<KeyVerification> {
    return this.verifier.verifyFor(caller, key);
  }

  /** Passes every drop, answer cached at creation and failure spent on to another verifier, from now on. */
  follow(follower: VerifierFollower): void {
    this.followers.push(follower);
  }

  /** Counts a caller's failure that the follower answered: the caller has one budget per instance. */
  countFailure(caller: string): void {
    this.verifier.countFailure(caller);
  }

  /** Each caller's failures this minute (both listeners'), for a follower started now. */
  failuresSpent(): [caller: string, failures: number][] {
    return this.verifier.failuresSpent();
  }

  /** The stored answer for a key (no cache), and how long it may be cached. */
  async lookup(id: string, hash: string): Promise<Cacheable<KeyVerification>> {
    return this.answerFor(await this.keys.findForVerification(id, hash), this.clock.now().getTime());
  }

  private forget(keyId: string): void {
    if (this.verifier.forget(keyId)) this.logger.debug({ keyId }, 'dropped cached verification');
    for (const follower of this.followers) follower.forget(keyId);
  }

  private forgetAll(): void {
    this.verifier.forgetAll();
    for (const follower of this.followers) follower.forgetAll();
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
