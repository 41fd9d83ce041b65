import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { claimEach, writeInBatches } from '@keyward/mongo';
import { FilterQuery, Model } from 'mongoose';
import { ActivityEntry } from './activity-entry.schema';

/** Refused verifications of one key within one hour (UTC), as one instance counted them. */
export interface VerificationFailures {
  keyId: string;
  ownerId: string;
  label: string;
  lastFive: string;
  hour: Date;
  last: Date;
  revoked: number;
  expired: number;
}

/** Where a page of activity starts: after this entry (newest first). */
export interface ActivityCursor {
  at: Date;
  id: string;
}

/** The `activity` read model. Written only by the projection of key events; read by owners. */
@Injectable()
export class ActivityRepository {
  constructor(@InjectModel(ActivityEntry.name) private readonly entries: Model<ActivityEntry>) {}

  /**
   * Records each entry once, many in one insert (unordered): a redelivered event finds its id
   * taken and changes nothing, and does not keep the others of its batch out.
   */
  async record(entries: ActivityEntry[]): Promise<void> {
    await writeInBatches(entries, (batch) => claimEach(this.entries, batch));
  }

  /**
   * Adds refused verifications to each key's entry of that hour (one per key and hour, counted up
   * by every instance), dated by the latest refusal; MAX_UPDATES_PER_COMMAND keys a round trip.
   */
  async addVerificationFailures(failures: VerificationFailures[]): Promise<void> {
    await writeInBatches(failures, (batch) =>
      this.entries.bulkWrite(
        batch.map((f) => ({
          updateOne: {
            filter: { _id: `failures:${f.keyId}:${f.hour.toISOString()}` },
            update: {
              $setOnInsert: {
                ownerId: f.ownerId,
                keyId: f.keyId,
                label: f.label,
                lastFive: f.lastFive,
                action: 'verification_failed',
                actor: 'service',
                actorName: 'internal services',
              },
              $inc: { 'details.revoked': f.revoked, 'details.expired': f.expired },
              $max: { at: f.last },
            },
            upsert: true,
          },
        })),
        { ordered: false },
      ),
    );
  }

  /** Up to `limit` entries of an account (or one of its keys), newest first, after `cursor`. */
  page(ownerId: string, keyId: string | undefined, cursor: ActivityCursor | undefined, limit: number) {
    const filter: FilterQuery<ActivityEntry> = { ownerId, ...(keyId ? { keyId } : {}) };
    if (cursor) filter.$or = [{ at: { $lt: cursor.at } }, { at: cursor.at, _id: { $lt: cursor.id } }];
    return this.entries.find(filter).sort({ at: -1, _id: -1 }).limit(limit).lean<ActivityEntry[]>().exec();
  }

  /** Every entry of an account, newest first (its data export). */
  allOf(ownerId: string): Promise<ActivityEntry[]> {
    return this.entries.find({ ownerId }).sort({ at: -1, _id: -1 }).lean<ActivityEntry[]>().exec();
  }

  /** Deletes an account's whole activity (it was closed). */
  async deleteOwner(ownerId: string): Promise<void> {
    await this.entries.deleteMany({ ownerId }).exec();
  }

  /** Deletes entries older than `before`; how many. */
  async deleteBefore(before: Date): Promise<number> {
    return (await this.entries.deleteMany({ at: { $lt: before } }).exec()).deletedCount;
  }
}
