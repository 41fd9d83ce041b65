import { Injectable } from '@nestjs/common';
import { InjectConnection } from '@nestjs/mongoose';
import { CalendarMinute, calendarMinuteId, REMINDER_CALENDAR_COLLECTION } from '@keyward/contracts';
import { Connection } from 'mongoose';

/** Reads key-service's reminder calendar (its contract in libs/contracts), one minute at a time by `_id`. */
@Injectable()
export class ReminderCalendarRepository {
  constructor(@InjectConnection() private readonly connection: Connection) {}

  /** The ids of the keys listed as due in this minute (some may have moved on since). */
  async keysDueIn(minute: Date): Promise<string[]> {
    const doc = await this.connection
      .collection<CalendarMinute>(REMINDER_CALENDAR_COLLECTION)
      .findOne({ _id: calendarMinuteId(minute) });
    return doc?.keyIds ?? [];
  }
}
