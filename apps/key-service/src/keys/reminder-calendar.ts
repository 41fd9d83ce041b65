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
/** Listings written in one command at most: well under a bucket's capacity, so a batch fits a bucket. */
const LISTINGS_PER_WRITE = 20;

/** A listing waiting for its minute's next write. */
interface Waiting {
  keyId: string;
  listed(): void;
  failed(error: unknown): void;
}

@Injectable()
export class ReminderCalendar {
  /** The bucket this instance last listed in, per minute: where the next listing starts looking. */
  private readonly openBuckets = new LRUCache<string, number>({ max: 1024 });
  /** Per minute being written, the listings that arrived meanwhile: they go together in its next write. */
  private readonly queues = new Map<string, Waiting[]>();

  constructor(@InjectModel(ReminderCalendarMinute.name) private readonly minutes: Model<ReminderCalendarMinute>) {}

  /**
   * Lists the key in its minute; resolves once it is stored. Concurrent listings in one minute
   * (a burst of creations, whose reminders fall due in the same minute) share one write: while a
   * minute's write is in flight, the listings that arrive wait and go in the next one together.
   */
  list(keyId: string, dueAt: Date | null | undefined, now: Date): Promise<void> {
    if (!dueAt) return Promise.resolve();
    const minute = listingMinute(dueAt, now);
    const minuteId = calendarMinuteId(minute);
    return new Promise((listed, failed) => {
      const queue = this.queues.get(minuteId);
      if (queue) return void queue.push({ keyId, listed, failed });
      const started = [{ keyId, listed, failed }];
      this.queues.set(minuteId, started);
      void this.drain(minute, started);
    });
  }

  /** Writes a minute's waiting listings, LISTINGS_PER_WRITE at a time, until none wait. */
  private async drain(minute: Date, queue: Waiting[]): Promise<void> {
    while (queue.length > 0) {
      const batch = queue.splice(0, LISTINGS_PER_WRITE);
      try {
        await this.write(
          minute,
          batch.map((waiting) => waiting.keyId),
        );
        for (const waiting of batch) waiting.listed();
      } catch (error) {
        for (const waiting of batch) waiting.failed(error);
      }
    }
    this.queues.delete(calendarMinuteId(minute));
  }

  /**
   * Adds the keys to the first bucket of the minute with room for them all, from the last one used
   * here: an upsert that finds the bucket too full (or written by the previous version, without
   * `listings`) tries to insert it again, which the unique `_id` refuses, so the next bucket is
   * tried; a bucket is thus only started once the one before it exists, as readers rely on.
   */
  private async write(minute: Date, keyIds: string[]): Promise<void> {
    const minuteId = calendarMinuteId(minute);
    for (let bucket = this.openBuckets.get(minuteId) ?? 0; ; bucket++) {
      try {
        await this.minutes
          .updateOne(
            { _id: calendarBucketId(minute, bucket), listings: { $lte: CALENDAR_BUCKET_CAPACITY - keyIds.length } },
            { $addToSet: { keyIds: { $each: keyIds } }, $inc: { listings: keyIds.length } },
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
