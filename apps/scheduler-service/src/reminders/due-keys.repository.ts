import { Injectable } from '@nestjs/common';
import { InjectConnection } from '@nestjs/mongoose';
import { ACTIVE_KEY_STATUS, KeyReminderFields, KEYS_COLLECTION } from '@keyward/contracts';
import { Connection, Types } from 'mongoose';

export interface DueKey {
  _id: Types.ObjectId;
  nextReminderAt: Date;
}

/** Where a page ended: the next page starts strictly after it in (nextReminderAt, _id) order. */
export type PageEnd = DueKey;

/**
 * Reads key-service's keys collection (its read contract in libs/contracts) to find keys whose next
 * reminder (or expiry) is due. Read only: key-service is the one writer of keys and records each
 * reminder itself.
 */
@Injectable()
export class DueKeysRepository {
  constructor(@InjectConnection() private readonly connection: Connection) {}

  /**
   * One page of active keys with `nextReminderAt <= asOf`, in (nextReminderAt, _id) order. Keyset
   * paging (not skip) on KEY_REMINDER_INDEX, which key-service declares, so each page costs the
   * keys it returns, and ties (imported keys share an expiry) are not lost.
   */
  duePage(asOf: Date, after: PageEnd | undefined, limit: number): Promise<DueKey[]> {
    const due = after
      ? {
          $or: [
            { nextReminderAt: { $gt: after.nextReminderAt, $lte: asOf } },
            { nextReminderAt: after.nextReminderAt, _id: { $gt: after._id } },
          ],
        }
      : { nextReminderAt: { $lte: asOf } };
    return this.connection
      .collection<KeyReminderFields<Types.ObjectId>>(KEYS_COLLECTION)
      .find<DueKey>({ status: ACTIVE_KEY_STATUS, ...due }, { projection: { _id: 1, nextReminderAt: 1 } })
      .sort({ nextReminderAt: 1, _id: 1 })
      .limit(limit)
      .toArray();
  }
}
