import { ConflictException, Injectable, Logger, UnauthorizedException } from '@nestjs/common';
import { buildLoginCodeRequested, Topic } from '@keyward/contracts';
import { Clock } from '@keyward/platform';
import { randomInt, timingSafeEqual } from 'node:crypto';
import { KeyServiceSettings } from '../config/key-service.env';
import { KeyHasher } from '../hashing/key-hasher';
import { OutboxRelayService } from '../outbox/outbox-relay.service';
import { outboxEntry } from '../outbox/outbox';
import { UserDocument } from '../users/user.schema';
import { UsersRepository } from '../users/users.repository';
import { CsrfTokens } from './csrf-tokens';
import { LoginCodesRepository } from './login-codes.repository';
import { LOGIN_CODES_COLLECTION } from './login-code.schema';
import { SessionDevice, SessionsRepository } from './sessions.repository';

export const LOGIN_CODE_TTL_MS = 10 * 60 * 1000;

/** Email one-time-password login, as on the platform keyward is modelled on. */
@Injectable()
export class AuthService {
  private readonly logger = new Logger(AuthService.name);
  private readonly sealingKey: string;
  private readonly defaultTimeZone: string;

  constructor(
    private readonly codes: LoginCodesRepository,
    private readonly sessions: SessionsRepository,
    private readonly users: UsersRepository,
    private readonly hasher: KeyHasher,
    private readonly csrfTokens: CsrfTokens,
    private readonly relay: OutboxRelayService,
    private readonly clock: Clock,
    settings: KeyServiceSettings,
  ) {
    this.sealingKey = settings.LOGIN_CODE_SEALING_KEY;
    this.defaultTimeZone = settings.DEFAULT_TIME_ZONE;
  }

  /**
   * Emails a fresh code; says nothing about whether the account exists (it is made on first login).
   * The guess budget is not the code's: it is counted per address and client by the controller's
   * rate limits, so a new code buys no more guesses. The code's expiry is written in the account's
   * time zone (the default one before the first login).
   */
  async requestCode(email: string): Promise<void> {
    const now = this.clock.now();
    const account = await this.users.findByEmail(email);
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
    const expiresAt = new Date(now.getTime() + LOGIN_CODE_TTL_MS);
    const event = buildLoginCodeRequested({
      email,
      timeZone: account?.timeZone ?? this.defaultTimeZone,
      expiresAt,
      code,
      secret: this.sealingKey,
      occurredAt: now,
    });
    await this.codes.replace(
      email,
      this.codeHash(email, code),
      expiresAt,
      outboxEntry(Topic.LoginCodes, event, email),
      now,
    );
    this.relay.nudge(LOGIN_CODES_COLLECTION, email);
  }

  async login(email: string, otp: string, device: SessionDevice) {
    const stored = await this.codes.liveCode(email, this.clock.now());
    const given = this.codeHash(email, otp);
    const matches = stored !== null && timingSafeEqual(Buffer.from(stored), Buffer.from(given));
    if (!matches || !(await this.codes.consume(email, given))) {
      throw new UnauthorizedException('That code is wrong or has expired; request a new one');
    }
    const user = await this.users.findOrCreate(email, this.clock.now());
    if (user.closingAt) {
      // Its closure is being finished (seconds, or minutes after a crash); then the address starts afresh.
      throw new ConflictException('This account is being closed; sign in again in a few minutes to start a new one');
    }
    const session = await this.sessions.create(user.id as string, device);
    this.logger.log({ userId: user.id }, 'logged in');
    return { user, ...session, csrfToken: this.csrfTokens.of(session.token) };
  }

  logout(token: string): Promise<void> {
    return this.sessions.delete(token);
  }

  async sessionOf(token: string): Promise<{ user: UserDocument; expiresAt: Date } | null> {
    const session = await this.sessions.findSession(token);
    const user = session && (await this.users.findById(session.userId));
    return session && user ? { user, expiresAt: session.expiresAt } : null;
  }

  /** Bound to the address, keyed by the service secret: a leaked table gives no codes. */
  private codeHash(email: string, code: string): string {
    return this.hasher.hash(`login-code:${email}:${code}`);
  }
}
