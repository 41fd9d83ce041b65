import type { KeyVerification } from '@keyward/contracts';
import { Counter, Histogram, Registry } from '@keyward/metrics/prom-client-core';

/**
 * How a verification was answered: `hit` from the cache (or a lookup already in flight), `miss`
 * by a database lookup, `not_a_key` refused by its shape without either.
 */
export type VerificationSource = 'hit' | 'miss' | 'not_a_key';

/**
 * Verifications by answer and by where the answer came from, in the service's registry. Free of
 * Nest, as the internal listener's worker counts its own (VerificationModule provides it by a factory).
 */
export class VerificationMetrics {
  private readonly answers: Counter<'result' | 'cache'>;
  private readonly duration: Histogram<'cache'>;

  constructor(registry: Registry) {
    this.answers = new Counter({
      name: 'keyward_verifications_total',
      help: 'Key verifications (HTTP and Kafka) by result (valid, unknown, expired, revoked) and cache (hit, miss, not_a_key).',
      labelNames: ['result', 'cache'],
      registers: [registry],
    });
    this.duration = new Histogram({
      name: 'keyward_verification_duration_seconds',
      help: 'Time to answer a verification inside key-service, by cache (hit, miss, not_a_key).',
      labelNames: ['cache'],
      buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1],
      registers: [registry],
    });
  }

  record(answer: KeyVerification, cache: VerificationSource, seconds: number): void {
    this.answers.inc({ result: answer.valid ? 'valid' : answer.reason, cache });
    this.duration.observe({ cache }, seconds);
  }
}
