import { Injectable } from '@nestjs/common';
import { InjectConnection } from '@nestjs/mongoose';
import { Connection, Types } from 'mongoose';

export interface DueKey {
  _id: Types.ObjectId;
  nextReminderAt: Date;
}

/** Where a page ended: the next page starts strictly after it in (nextReminderAt, _id) order. */
export type PageEnd = DueKey;

/**
 * Reads key-service's keys collection to find keys whose next reminder (or expiry) is due. Read
 * only: key-service is the one writer of keys and records each reminder itself.
 */
@Injectable()
export class DueKeysRepository {
  constructor(@InjectConnection() private readonly connection: Connection) {}

  /**
   * One page of active keys with `nextReminderAt <= asOf`, in (nextReminderAt, _id) order. Keyset
   * paging (not skip) on the index { status, nextReminderAt, _id } that key-service declares, so
   * each page costs the keys it returns, and ties (imported keys share an expiry) are not lost.
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
      .collection<DueKey & { status: string }>('keys')
      .find({ status: 'active', ...due }, { projection: { _id: 1, nextReminderAt: 1 } })
      .sort({ nextReminderAt: 1, _id: 1 })
      .limit(limit)
      .toArray();
  }
}
