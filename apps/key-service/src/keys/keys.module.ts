import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { HashingModule } from '../hashing/hashing.module';
import { OutboxModule } from '../outbox/outbox.module';
import { KeyCap } from './key-cap';
import { KeyChanges } from './key-changes';
import { KeyCreation } from './key-creation.service';
import { KeyRevocation } from './key-revocation.service';
import { KeyRotation } from './key-rotation.service';
import { KeyStoreModule } from './key-store.module';
import { Key, KeySchema } from './key.schema';
import { KeysController } from './keys.controller';
import { KeysService } from './keys.service';
import { ReminderCalendarSweeper } from './reminder-calendar.sweeper';

@Module({
  imports: [KeyStoreModule, OutboxModule.forFeature({ name: Key.name, schema: KeySchema }), AuthModule, HashingModule],
  controllers: [KeysController],
  providers: [KeysService, KeyCreation, KeyRotation, KeyRevocation, KeyChanges, KeyCap, ReminderCalendarSweeper],
  exports: [KeyRevocation, KeyStoreModule, KeyChanges],
})
export class KeysModule {}
