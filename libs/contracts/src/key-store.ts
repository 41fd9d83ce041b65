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
