import { Module } from '@nestjs/common';
import { KEYS_COLLECTION } from '@keyward/contracts';
import { AuthModule } from '../auth/auth.module';
import { HashingModule } from '../hashing/hashing.module';
import { relayOutboxOf } from '../outbox/outbox.module';
import { KeyCap } from './key-cap';
import { KeyChanges } from './key-changes';
import { KeyCreation } from './key-creation.service';
import { KeyRevocation } from './key-revocation.service';
import { KeyRotation } from './key-rotation.service';
import { KeyStoreModule } from './key-store.module';
import { KeysController } from './keys.controller';
import { KeysRepository } from './keys.repository';
import { KeysService } from './keys.service';
import { ReminderCalendarSweeper } from './reminder-calendar.sweeper';

@Module({
  imports: [KeyStoreModule, AuthModule, HashingModule],
  controllers: [KeysController],
  providers: [
    KeysService,
    KeyCreation,
    KeyRotation,
    KeyRevocation,
    KeyChanges,
    KeyCap,
    ReminderCalendarSweeper,
    relayOutboxOf(KEYS_COLLECTION, KeysRepository),
  ],
  exports: [KeyRevocation, KeyStoreModule, KeyChanges],
})
export class KeysModule {}
