import { Injectable } from '@nestjs/common';
import { InjectConnection } from '@nestjs/mongoose';
import { calendarBucketId, CalendarMinute, REMINDER_CALENDAR_COLLECTION } from '@keyward/contracts';
import { Connection } from 'mongoose';

/** Reads key-service's reminder calendar (its contract in libs/contracts), one minute at a time by `_id`. */
@Injectable()
export class ReminderCalendarRepository {
  constructor(@InjectConnection() private readonly connection: Connection) {}

  /**
   * The ids of the keys listed as due in this minute (some may have moved on since), each once:
   * its buckets by `_id` in order until one is missing (bucket 0 alone for a minute the previous
   * version wrote, and for most minutes).
   */
  async keysDueIn(minute: Date): Promise<string[]> {
    const buckets = this.connection.collection<CalendarMinute>(REMINDER_CALENDAR_COLLECTION);
    const keyIds = new Set<string>();
    for (let n = 0; ; n++) {
      const bucket = await buckets.findOne({ _id: calendarBucketId(minute, n) });
      if (!bucket) return [...keyIds];
      for (const keyId of bucket.keyIds) keyIds.add(keyId);
    }
  }
}
