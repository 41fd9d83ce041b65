import { Injectable } from '@nestjs/common';
import { KeyVerification } from '@keyward/contracts';
import { VerificationFailuresRecorder } from '../activity/verification-failures.recorder';
import { VerificationReport } from './key-verifier';
import { LastUsedRecorder } from './last-used.recorder';
import { VerificationMetrics, VerificationSource } from './verification.metrics';

/** Where this instance's verifications are recorded: lastUsedAt, refusals in the activity, metrics. */
@Injectable()
export class VerificationReports implements VerificationReport {
  constructor(
    private readonly lastUsed: LastUsedRecorder,
    private readonly refusals: VerificationFailuresRecorder,
    private readonly metrics: VerificationMetrics,
  ) {}

  used(keyId: string, at: number): void {
    this.lastUsed.record(keyId, new Date(at));
  }

  refused(keyId: string, reason: 'revoked' | 'expired'): void {
    this.refusals.record(keyId, reason);
  }

  answered(result: KeyVerification, source: VerificationSource, seconds: number): void {
    this.metrics.record(result, source, seconds);
  }
}
