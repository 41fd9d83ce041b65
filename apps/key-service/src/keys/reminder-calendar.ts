import { Injectable } from '@nestjs/common';
import { InjectModel, Prop, Schema, SchemaFactory } from '@nestjs/mongoose';
import {
  CALENDAR_MINUTE_MS,
  calendarBucketId,
  CalendarMinute,
  calendarMinuteId,
  calendarMinuteOf,
  REMINDER_CALENDAR_COLLECTION,
} from '@keyward/contracts';
import { isDuplicateKeyError } from '@keyward/mongo';
import { LRUCache } from 'lru-cache';
import { Model } from 'mongoose';

/**
 * Listings a calendar bucket takes before the next one is started: every listing rewrites its
 * bucket whole on the local stand-in, so an unbounded minute made each creation cost more than the
 * last (thousands of ids in a minute of busy creation).
 */
export const CALENDAR_BUCKET_CAPACITY = 100;

/** One bucket of a reminder calendar minute (contract in libs/contracts). */
@Schema({ collection: REMINDER_CALENDAR_COLLECTION, versionKey: false })
export class ReminderCalendarMinute implements CalendarMinute {
  @Prop({ type: String, required: true }) _id: string;
  @Prop({ type: [String], default: [] }) keyIds: string[];
  @Prop({ type: Number }) listings?: number;
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
  /** The bucket this instance last listed in, per minute: where the next listing starts looking. */
  private readonly openBuckets = new LRUCache<string, number>({ max: 1024 });

  constructor(@InjectModel(ReminderCalendarMinute.name) private readonly minutes: Model<ReminderCalendarMinute>) {}

  /**
   * Lists the key in the first bucket of its minute with room, from the last one used here: an
   * upsert that finds the bucket full (or written by the previous version, without `listings`)
   * tries to insert it again, which the unique `_id` refuses, so the next bucket is tried; a bucket
   * is thus only started once the one before it exists, as readers rely on.
   */
  async list(keyId: string, dueAt: Date | null | undefined, now: Date): Promise<void> {
    if (!dueAt) return;
    const minute = listingMinute(dueAt, now);
    const minuteId = calendarMinuteId(minute);
    for (let bucket = this.openBuckets.get(minuteId) ?? 0; ; bucket++) {
      try {
        await this.minutes
          .updateOne(
            { _id: calendarBucketId(minute, bucket), listings: { $lt: CALENDAR_BUCKET_CAPACITY } },
            { $addToSet: { keyIds: keyId }, $inc: { listings: 1 } },
            { upsert: true },
          )
          .exec();
        this.openBuckets.set(minuteId, bucket);
        return;
      } catch (error) {
        if (!isDuplicateKeyError(error)) throw error;
      }
    }
  }

  /** Deletes the buckets of the minutes before `before` (`_id`s sort as times); how many. */
  async deleteBefore(before: Date): Promise<number> {
    const { deletedCount } = await this.minutes.deleteMany({ _id: { $lt: calendarMinuteId(before) } }).exec();
    return deletedCount;
  }
}
