import { Injectable } from '@nestjs/common';
import { buildAccountClosureCodeRequested, Topic } from '@keyward/contracts';
import { Clock } from '@keyward/platform';
import { randomInt, timingSafeEqual } from 'node:crypto';
import { LOGIN_CODE_TTL_MS } from '../auth/auth.service';
import { LoginCodesRepository } from '../auth/login-codes.repository';
import { LOGIN_CODES_COLLECTION } from '../auth/login-code.schema';
import { KeyServiceSettings } from '../config/key-service.env';
import { KeyHasher } from '../hashing/key-hasher';
import { OutboxRelayService } from '../outbox/outbox-relay.service';
import { outboxEntry } from '../outbox/outbox';
import { UserDocument } from '../users/user.schema';

/** Where an account's closure code is kept, beside (never instead of) its address's login code. */
export const closureCodeId = (userId: string): string => `account-closure:${userId}`;

/**
 * The one-time code that confirms closing an account: issued fresh for it, emailed to the login
 * address, valid once and for as long as a login code. Bound to the account and to this purpose
 * (its own record, its own hash domain, its own sealed message type), so a login code never closes
 * an account and a closure code never signs anyone in.
 */
@Injectable()
export class AccountClosureCodes {
  private readonly sealingKey: string;

  constructor(
    private readonly codes: LoginCodesRepository,
    private readonly hasher: KeyHasher,
    private readonly relay: OutboxRelayService,
    private readonly clock: Clock,
    settings: KeyServiceSettings,
  ) {
    this.sealingKey = settings.LOGIN_CODE_SEALING_KEY;
  }

  /** Emails a fresh code, replacing any earlier one; when it expires. */
  async issue(user: UserDocument): Promise<Date> {
    const now = this.clock.now();
    const userId = user.id as string;
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
    const expiresAt = new Date(now.getTime() + LOGIN_CODE_TTL_MS);
    const message = buildAccountClosureCodeRequested({
      email: user.email,
      timeZone: user.timeZone,
      expiresAt,
      code,
      secret: this.sealingKey,
      occurredAt: now,
    });
    await this.codes.replace(
      closureCodeId(userId),
      this.codeHash(userId, code),
      expiresAt,
      outboxEntry(Topic.LoginCodes, message, user.email),
      now,
    );
    this.relay.nudge(LOGIN_CODES_COLLECTION, closureCodeId(userId));
    return expiresAt;
  }

  /** Whether `code` is the account's live closure code; it works once. */
  async consume(user: UserDocument, code: string): Promise<boolean> {
    const userId = user.id as string;
    const stored = await this.codes.liveCode(closureCodeId(userId), this.clock.now());
    const given = this.codeHash(userId, code);
    const matches = stored !== null && timingSafeEqual(Buffer.from(stored), Buffer.from(given));
    return matches && (await this.codes.consume(closureCodeId(userId), given));
  }

  /** Keyed by the service secret and bound to the account: a leaked table gives no codes. */
  private codeHash(userId: string, code: string): string {
    return this.hasher.hash(`account-closure:${userId}:${code}`);
  }
}
