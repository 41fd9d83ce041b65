import { Injectable, Logger, NotFoundException } from '@nestjs/common';
import { Clock } from '@keyward/platform';
import { KeysRepository } from '../keys/keys.repository';
import { UserDocument } from '../users/user.schema';
import { UsersRepository } from '../users/users.repository';
import { AccountResponse } from './dto/account.response';
import { UpdateAccountBody } from './dto/update-account.dto';

/** The account's own settings. */
@Injectable()
export class AccountService {
  private readonly logger = new Logger(AccountService.name);

  constructor(
    private readonly users: UsersRepository,
    private readonly keys: KeysRepository,
    private readonly clock: Clock,
  ) {}

  /**
   * Sets the owner's time zone. Events take the zone from the key they are about, so the keys get
   * it too: every email from then on (reminders, expiry, leaks, changes) is written in it. The
   * user is written first, so a retry after a failure in between finishes the copy.
   */
  async update(user: UserDocument, change: UpdateAccountBody): Promise<AccountResponse> {
    const userId = user.id as string;
    const updated = await this.users.chooseTimeZone(userId, change.timeZone, this.clock.now());
    if (!updated) throw new NotFoundException('This account no longer exists');
    await this.keys.setOwnerTimeZone(userId, change.timeZone);
    this.logger.log({ userId, timeZone: change.timeZone }, 'time zone chosen');
    return AccountResponse.from(updated);
  }
}
