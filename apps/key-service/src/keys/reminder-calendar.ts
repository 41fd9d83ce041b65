import { Injectable } from '@nestjs/common';
import { InjectModel, Prop, Schema, SchemaFactory } from '@nestjs/mongoose';
import {
  CALENDAR_MINUTE_MS,
  CalendarMinute,
  calendarMinuteId,
  calendarMinuteOf,
  REMINDER_CALENDAR_COLLECTION,
} from '@keyward/contracts';
import { Model } from 'mongoose';

/** One minute of the reminder calendar (contract in libs/contracts). */
@Schema({ collection: REMINDER_CALENDAR_COLLECTION, versionKey: false })
export class ReminderCalendarMinute implements CalendarMinute {
  @Prop({ type: String, required: true }) _id: string;
  @Prop({ type: [String], default: [] }) keyIds: string[];
}
export const ReminderCalendarMinuteSchema = SchemaFactory.createForClass(ReminderCalendarMinute);

/**
 * The minute a key due at `dueAt` is listed in when listed at `now`: the minute it falls due in,
 * unless that minute has come or is about to (a key overdue after downtime, or due within the
 * minute): scheduler-service may have read it already, so the key goes into the next minute no
 * pass has read yet, and is reminded at most two minutes late. Assumes the services' clocks agree
 * to within a minute; the scheduler's full scan catches anything listed too late.
 */
export function listingMinute(dueAt: Date, now: Date): Date {
  return calendarMinuteOf(new Date(Math.max(dueAt.getTime(), now.getTime() + CALENDAR_MINUTE_MS)));
}

/**
 * Lists keys in the reminder calendar. Written only by KeysRepository, before the key write that
 * sets the due time (no multi-document transactions): a crash between the two leaves an entry
 * whose key does not say it is due, which costs one command that key-service answers "not due";
 * the other order could lose a reminder.
 */
@Injectable()
export class ReminderCalendar {
  constructor(@InjectModel(ReminderCalendarMinute.name) private readonly minutes: Model<ReminderCalendarMinute>) {}

  async list(keyId: string, dueAt: Date | null | undefined, now: Date): Promise<void> {
    if (!dueAt) return;
    await this.minutes
      .updateOne(
        { _id: calendarMinuteId(listingMinute(dueAt, now)) },
        { $addToSet: { keyIds: keyId } },
        { upsert: true },
      )
      .exec();
  }

  /** Deletes the minutes before `before` (`_id`s sort as times); how many. */
  async deleteBefore(before: Date): Promise<number> {
    const { deletedCount } = await this.minutes.deleteMany({ _id: { $lt: calendarMinuteId(before) } }).exec();
    return deletedCount;
  }
}
