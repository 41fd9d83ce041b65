import { Injectable } from '@nestjs/common';
import { Clock, Sweeper } from '@keyward/platform';
import { KeyServiceSettings } from '../config/key-service.env';
import { KeysRepository } from '../keys/keys.repository';
import { UsersRepository } from '../users/users.repository';
import { AccountClosure } from './account-closure.service';

/** A closure this old is not a request still in flight: it was interrupted. */
const INTERRUPTED_AFTER_MS = 60_000;

/**
 * Finishes account closures a crash interrupted, and deletes closed accounts' keys once their
 * retention is over, every CLOSED_ACCOUNTS_SWEEP_MS. Every instance may run it: each step is idempotent.
 */
@Injectable()
export class ClosedAccountsSweeper extends Sweeper {
  constructor(
    private readonly users: UsersRepository,
    private readonly keys: KeysRepository,
    private readonly closure: AccountClosure,
    private readonly clock: Clock,
    settings: KeyServiceSettings,
  ) {
    super({ everyMs: settings.CLOSED_ACCOUNTS_SWEEP_MS, atStart: false });
  }

  protected async pass(): Promise<void> {
    const now = this.clock.now();
    for (const user of await this.users.findClosingBefore(new Date(now.getTime() - INTERRUPTED_AFTER_MS))) {
      this.logger.warn({ userId: user.id }, 'finishing an interrupted account closure');
      await this.closure.finish(user);
    }
    const deleted = await this.keys.deleteRetainedBefore(now);
    if (deleted > 0) this.logger.log(`deleted ${deleted} keys of closed accounts past their retention`);
  }
}
