import { Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { Key, KeySchema } from './key.schema';
import { KeysRepository } from './keys.repository';
import { ReminderCalendar, ReminderCalendarMinute, ReminderCalendarMinuteSchema } from './reminder-calendar';

/**
 * The keys collection and its reminder calendar, and their repository, for every process that
 * reads or writes keys (the service, the import command).
 */
@Module({
  imports: [
    MongooseModule.forFeature([
      { name: Key.name, schema: KeySchema },
      { name: ReminderCalendarMinute.name, schema: ReminderCalendarMinuteSchema },
    ]),
  ],
  providers: [KeysRepository, ReminderCalendar],
  exports: [KeysRepository, ReminderCalendar],
})
export class KeyStoreModule {}
