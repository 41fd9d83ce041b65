import type { KeyVerification } from '@keyward/contracts';
import { isNotAKey } from '@keyward/contracts/key-format';
import type { Cacheable } from '@keyward/key-client';
import { VerificationCache } from '@keyward/key-client/verification-cache';
import type { KeyDigests } from '../hashing/key-digests';
import { FailureBudget } from './failure-budget';
import type { VerificationSource } from './verification.metrics';

export const UNKNOWN: KeyVerification = { valid: false, reason: 'unknown' };

/** What a verifier tells its owner about the answers it gave. */
export interface VerificationReport {
  /** A valid key was verified at `at` (ms): its lastUsedAt. */
  used(keyId: string, at: number): void;
  /** A revoked or expired key was refused: its account's activity counts the refusals. */
  refused(keyId: string, reason: 'revoked' | 'expired'): void;
  /** Every answer, for keyward_verifications_total and the duration histogram. */
  answered(result: KeyVerification, source: VerificationSource, seconds: number): void;
}

export interface KeyVerifierOptions {
  digests: Pick<KeyDigests, 'hash' | 'idOf'>;
  /** The answer for a key not cached: by its document id and hash, and how long it may be cached. */
  lookup(id: string, hash: string): Promise<Cacheable<KeyVerification>>;
  report: VerificationReport;
  /** A failed verification counted against a caller here, for a verifier elsewhere to count too (countFailure). */
  failedBy?(caller: string): void;
  maxEntries: number;
  failuresPerMinute: number;
  /** Milliseconds since the epoch. */
  now(): number;
}

/**
 * Answers "is this key valid?" from a cache by hash, else by a lookup, for one event loop: key-service's
 * own (public port, Kafka) and the internal listener's worker each hold one. Cached answers are dropped
 * when key events say a key changed (forget, forgetAll); failed verifications count against the
 * caller's budget, and past it a failure is answered 429; a valid key is always answered
 * (docs/SECURITY.md, "Verification").
 */
export class KeyVerifier {
  private readonly cache: VerificationCache<KeyVerification>;
  private readonly failures: FailureBudget;

  constructor(private readonly options: KeyVerifierOptions) {
    this.cache = new VerificationCache({ maxEntries: options.maxEntries, now: options.now });
    this.failures = new FailureBudget(options.failuresPerMinute, 60_000, options.now);
  }

  verify(key: string): Promise<KeyVerification> {
    // Noise (a v1 key with a wrong checksum, text too short for any key) costs no hash or lookup.
    return isNotAKey(key) ? Promise.resolve(this.notAKey()) : this.answer(key);
  }

  /** verify() for an HTTP caller, whose failures count against its budget. */
  async verifyFor(caller: string, key: string): Promise<KeyVerification> {
    if (isNotAKey(key)) return this.notAKey();
    const result = await this.answer(key);
    if (!result.valid) {
      this.options.failedBy?.(caller);
      this.failures.spend(caller);
    }
    return result;
  }

  /** Counts a caller's failed verification answered by another verifier of this instance: one budget per caller. */
  countFailure(caller: string, times = 1): void {
    this.failures.count(caller, times);
  }

  /** Each caller's failures this minute, for a verifier started now (countFailure). */
  failuresSpent(): [caller: string, failures: number][] {
    return this.failures.spentNow();
  }

  /** Caches an answer known without a lookup (a key just created). */
  remember(hash: string, answer: Cacheable<KeyVerification>): void {
    this.cache.set(hash, answer);
  }

  /** Drops a key's cached answer (revoked, expired, rotated, changed); true when one was cached. */
  forget(keyId: string): boolean {
    return this.cache.dropKey(keyId);
  }

  /** Drops every cached answer: key events may have been missed. */
  forgetAll(): void {
    this.cache.clear();
  }

  /** By hash, from the cache or the lookup; legacy keys (no v1 shape) take this path too. */
  private async answer(key: string): Promise<KeyVerification> {
    const started = performance.now();
    let source: VerificationSource = 'hit';
    let loaded: Cacheable<KeyVerification> | undefined;
    const hash = this.options.digests.hash(key);
    const result = await this.cache.resolve(hash, async (h) => {
      source = 'miss';
      return (loaded = await this.options.lookup(this.options.digests.idOf(key), h));
    });
    const { report } = this.options;
    if (result.valid) report.used(result.keyId, this.options.now());
    else if (result.reason !== 'unknown') {
      const keyId = this.cache.keyIdOf(hash) ?? loaded?.keyId;
      if (keyId) report.refused(keyId, result.reason);
    }
    report.answered(result, source, (performance.now() - started) / 1000);
    return result;
  }

  private notAKey(): KeyVerification {
    this.options.report.answered(UNKNOWN, 'not_a_key', 0);
    return UNKNOWN;
  }
}
