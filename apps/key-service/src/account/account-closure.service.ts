import { ForbiddenException, Injectable, Logger } from '@nestjs/common';
import { Clock } from '@keyward/platform';
import { ActivityRepository } from '../activity/activity.repository';
import { LoginCodesRepository } from '../auth/login-codes.repository';
import { SessionsRepository } from '../auth/sessions.repository';
import { KeyServiceSettings } from '../config/key-service.env';
import { KeyRevocation } from '../keys/key-revocation.service';
import { MongoThrottlerStorage } from '../rate-limits/mongo-throttler.storage';
import { countersOf } from '../rate-limits/rate-limits';
import { UserDocument } from '../users/user.schema';
import { UsersRepository } from '../users/users.repository';
import { AccountClosureCodes, closureCodeId } from './account-closure-codes';

const wrongCode = () => {
  const message = 'That code is wrong or has expired; request a new one';
  return new ForbiddenException({ message, errors: [{ field: 'code', message }] });
};

/**
 * Closing an account: every key revoked at once (its contacts told), every session ended, and what
 * keyward holds about the person deleted; closed accounts' keys stay, stripped to their hash and
 * status, for CLOSED_ACCOUNT_KEYS_RETENTION so verifying one answers `revoked`.
 *
 * The account is marked closing first and deleted last, and every step is safe to repeat, so a
 * closure interrupted by a crash is finished by the ClosedAccountsSweeper with the same result.
 */
@Injectable()
export class AccountClosure {
  private readonly logger = new Logger(AccountClosure.name);
  private readonly keyRetentionMs: number;

  constructor(
    private readonly codes: AccountClosureCodes,
    private readonly users: UsersRepository,
    private readonly keys: KeyRevocation,
    private readonly sessions: SessionsRepository,
    private readonly loginCodes: LoginCodesRepository,
    private readonly activity: ActivityRepository,
    private readonly rateLimits: MongoThrottlerStorage,
    private readonly clock: Clock,
    settings: KeyServiceSettings,
  ) {
    this.keyRetentionMs = settings.CLOSED_ACCOUNT_KEYS_RETENTION;
  }

  /** Closes the account if `code` is its live closure code (403 naming the field otherwise). */
  async close(user: UserDocument, code: string): Promise<void> {
    if (!(await this.codes.consume(user, code))) throw wrongCode();
    await this.users.markClosing(user.id as string, this.clock.now());
    this.logger.log({ userId: user.id }, 'account closing');
    await this.finish(user);
  }

  /** Every step after the mark, each safe to repeat; the account document goes last. */
  async finish(user: UserDocument): Promise<void> {
    const userId = user.id as string;
    const now = this.clock.now();
    const revoked = await this.keys.closeAccountKeys(userId, new Date(now.getTime() + this.keyRetentionMs), now);
    await this.sessions.endForClosedAccount(userId);
    await this.activity.deleteOwner(userId);
    await this.loginCodes.delete([user.email, closureCodeId(userId)]);
    await this.rateLimits.forget(countersOf({ userId, email: user.email }));
    // Once more, last: a create that passed its session check just before the mark may have written
    // its key since the first pass (requests after the mark are refused).
    const late = await this.keys.closeAccountKeys(userId, new Date(now.getTime() + this.keyRetentionMs), now);
    await this.users.deleteClosing(userId);
    this.logger.log({ userId, revokedKeys: revoked + late }, 'account closed');
  }
}
