/**
 * What other services may read of key-service's `keys` collection: scheduler-service finds the
 * keys whose reminder is due in it. key-service is the collection's only writer; its Key schema
 * takes the names below from here and declares the index.
 */
export const KEYS_COLLECTION = 'keys';

/** The stored status of a key that works (and may be reminded). */
export const ACTIVE_KEY_STATUS = 'active';

/** The reminder scan's index: active keys by due time, `_id` breaking ties for keyset paging. */
export const KEY_REMINDER_INDEX = { status: 1, nextReminderAt: 1, _id: 1 } as const;

/** The fields of a stored key that the reminder scan reads (`Id`: the driver's ObjectId). */
export interface KeyReminderFields<Id> {
  _id: Id;
  status: string;
  /** When the key's next reminder stage (or its expiry) falls due; null once nothing is left. */
  nextReminderAt: Date | null;
}

/**
 * key-service's reminder calendar: each minute's documents, keyed by that minute, list the keys
 * whose next reminder falls due in it, so scheduler-service reads what is due by `_id` instead of
 * scanning every key. key-service lists a key before it stores the due time on the key; an entry
 * may therefore be stale (the key write failed, or the key moved on since), or repeated: the
 * scheduler sends its command anyway and key-service, which re-reads the key, records only what is
 * really due.
 */
export const REMINDER_CALENDAR_COLLECTION = 'reminder_calendar';

export const CALENDAR_MINUTE_MS = 60_000;

/**
 * One bucket of a calendar minute. A minute is a chain of buckets with no gaps: `calendarBucketId(m, 0)`,
 * then `(m, 1)`, `(m, 2)`, … (a bucket is started only once the one before it exists), so a reader
 * reads them in order until one is missing. Bucket 0's `_id` is the minute's own, which is all the
 * previous version wrote (one unbounded document per minute, without `listings`).
 */
export interface CalendarMinute {
  /** `YYYY-MM-DDTHH:mmZ` (UTC) for bucket 0, then `YYYY-MM-DDTHH:mmZ/<n>`; sorts as the minute's time. */
  _id: string;
  /** Hex ids of the keys listed. */
  keyIds: string[];
  /** How many listings were written to the bucket, which bounds its size (absent in the previous version's minutes). */
  listings?: number;
}

/** The calendar minute a due time belongs to: the first whole minute at or after it. */
export function calendarMinuteOf(dueAt: Date): Date {
  return new Date(Math.ceil(dueAt.getTime() / CALENDAR_MINUTE_MS) * CALENDAR_MINUTE_MS);
}

/** A calendar minute's `_id`, which is also its bucket 0's. */
export function calendarMinuteId(minute: Date): string {
  return `${minute.toISOString().slice(0, 16)}Z`;
}

/** The `_id` of a calendar minute's bucket `n` (0, 1, …). */
export function calendarBucketId(minute: Date, n: number): string {
  return n === 0 ? calendarMinuteId(minute) : `${calendarMinuteId(minute)}/${n}`;
}
