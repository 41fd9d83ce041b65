import { Injectable, Logger } from '@nestjs/common';
import { isNotAKey } from '@keyward/contracts';
import { Clock } from '@keyward/platform';
import { KeyHasher } from '../hashing/key-hasher';
import { LeakReport } from '../key-events/key-events';
import { KeyRevocation, LeakOutcome } from '../keys/key-revocation.service';
import { KeyStatus } from '../keys/key.schema';
import { KeysRepository } from '../keys/keys.repository';

/** What a report of one text came to; `unknown`: not a keyward key (bad checksum, or no such key). */
export type LeakResult = LeakOutcome | 'unknown';

export interface ReportedText extends LeakReport {
  /** The text the reporter found; looked up by its hash, never stored or logged. */
  key: string;
}

/**
 * Turns reports of texts found in the open into containment of the keyward keys among them. A
 * key-shaped text with a wrong checksum is noise and costs no lookup (as in verification); a real key is contained by
 * KeyRevocation once, however often it is reported.
 */
@Injectable()
export class LeaksService {
  private readonly logger = new Logger(LeaksService.name);

  constructor(
    private readonly keys: KeysRepository,
    private readonly revocation: KeyRevocation,
    private readonly hasher: KeyHasher,
    private readonly clock: Clock,
  ) {}

  /** One result per report, in order. Reports of one batch are handled one after another (a batch may name a key twice). */
  async reportAll(reports: ReportedText[]): Promise<LeakResult[]> {
    const results: LeakResult[] = [];
    for (const report of reports) results.push(await this.report(report));
    return results;
  }

  private async report({ key, ...where }: ReportedText): Promise<LeakResult> {
    if (isNotAKey(key)) return 'unknown';
    const doc = await this.keys.findByHash(this.hasher.hash(key));
    // A pending replacement's text was never handed out: as in verification, it does not exist.
    if (!doc || doc.status === KeyStatus.Pending) return 'unknown';
    const result = await this.revocation.containLeak(doc, where, this.clock.now());
    this.logger.log({ keyId: doc.id, ownerId: doc.owner.userId, reporter: where.reporter, result }, 'leak reported');
    return result;
  }
}
