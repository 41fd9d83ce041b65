import { Module } from '@nestjs/common';
import { ActivityModule } from '../activity/activity.module';
import { AuthModule } from '../auth/auth.module';
import { HashingModule } from '../hashing/hashing.module';
import { KeyStoreModule } from '../keys/key-store.module';
import { KeysModule } from '../keys/keys.module';
import { AccountClosureCodes } from './account-closure-codes';
import { AccountClosure } from './account-closure.service';
import { AccountDataController } from './account-data.controller';
import { AccountExport } from './account-export.service';
import { AccountSessionsController } from './account-sessions.controller';
import { AccountSessionsService } from './account-sessions.service';
import { AccountController } from './account.controller';
import { AccountService } from './account.service';
import { ClosedAccountsSweeper } from './closed-accounts.sweeper';

/** Settings → Account: the owner's time zone and sessions, their data, and closing the account. */
@Module({
  imports: [AuthModule, KeyStoreModule, KeysModule, ActivityModule, HashingModule],
  controllers: [AccountController, AccountSessionsController, AccountDataController],
  providers: [
    AccountService,
    AccountSessionsService,
    AccountExport,
    AccountClosureCodes,
    AccountClosure,
    ClosedAccountsSweeper,
  ],
})
export class AccountModule {}
