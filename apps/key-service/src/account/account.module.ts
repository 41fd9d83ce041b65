import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { KeyStoreModule } from '../keys/key-store.module';
import { AccountSessionsController } from './account-sessions.controller';
import { AccountSessionsService } from './account-sessions.service';
import { AccountController } from './account.controller';
import { AccountService } from './account.service';

/** Settings → Account: the owner's time zone and sessions. */
@Module({
  imports: [AuthModule, KeyStoreModule],
  controllers: [AccountController, AccountSessionsController],
  providers: [AccountService, AccountSessionsService],
})
export class AccountModule {}
