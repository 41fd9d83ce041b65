import { Module } from '@nestjs/common';
import { KeyStoreModule } from '../keys/key-store.module';
import { RemindersBackfillService } from './reminders-backfill.service';
import { RemindersConsumer } from './reminders.consumer';
import { RemindersService } from './reminders.service';

/** Records the reminder stages and expiries scheduler-service finds due (Topic.KeyReminderCommands). */
@Module({
  imports: [KeyStoreModule],
  providers: [RemindersConsumer, RemindersService, RemindersBackfillService],
})
export class RemindersModule {}
