import { Injectable, Logger, NotFoundException } from '@nestjs/common';
import { SessionsRepository } from '../auth/sessions.repository';
import { AccountSessionResponse } from './dto/account-session.response';

/** Where the account is signed in, and signing out there. */
@Injectable()
export class AccountSessionsService {
  private readonly logger = new Logger(AccountSessionsService.name);

  constructor(private readonly sessions: SessionsRepository) {}

  async list(userId: string, currentKey: string): Promise<AccountSessionResponse[]> {
    return (await this.sessions.listOf(userId)).map((s) => AccountSessionResponse.from(s, currentKey));
  }

  /**
   * Ends one session of the account and returns its stored key; another account's session id is
   * as unknown as a made-up one.
   */
  async end(userId: string, id: string): Promise<string> {
    const ended = await this.sessions.endOne(userId, id);
    if (!ended) throw new NotFoundException('No session with that id on this account');
    this.logger.log({ userId }, 'session ended');
    return ended;
  }

  /** Ends every session of the account but the caller's own (after a lost laptop, say). */
  async endOthers(userId: string, currentKey: string): Promise<void> {
    const ended = await this.sessions.endOthers(userId, currentKey);
    this.logger.log({ userId, ended }, 'other sessions ended');
  }
}
