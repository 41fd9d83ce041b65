import { Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { Key, KeySchema } from '../keys/key.schema';
import { RemindersBackfillService } from './reminders-backfill.service';
import { RemindersConsumer } from './reminders.consumer';
import { RemindersRepository } from './reminders.repository';
import { RemindersService } from './reminders.service';

/** Records the reminder stages and expiries scheduler-service finds due (Topic.KeyReminderCommands). */
@Module({
  imports: [MongooseModule.forFeature([{ name: Key.name, schema: KeySchema }])],
  providers: [RemindersConsumer, RemindersService, RemindersRepository, RemindersBackfillService],
})
export class RemindersModule {}
