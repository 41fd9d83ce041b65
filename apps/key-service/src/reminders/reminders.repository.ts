import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { Model, Types } from 'mongoose';
import { Key, KeyStatus } from '../keys/key.schema';
import { OutboxEntry } from '../outbox/outbox-entry.schema';
import { appendToOutbox } from '../outbox/outbox';

/** What a reminder claim reads of a key; the claim's write expects these fields unchanged. */
export type ReminderView = Pick<
  Key,
  'owner' | 'label' | 'lastFive' | 'contacts' | 'expiresAt' | 'status' | 'nextReminderAt' | 'remindersSent'
> & {
  _id: Types.ObjectId;
  /** Set when the key was rotated: its replacement's id. */
  rotatedTo?: string | null;
};

export type Unscheduled = Pick<Key, 'createdAt' | 'expiresAt'> & { _id: Types.ObjectId };

/** The change a claim makes besides appending its event. */
export interface ReminderClaim {
  nextReminderAt: Date | null;
  sentStage?: number;
  status?: KeyStatus;
}

/** Reminder bookkeeping on the keys collection (key-service is its only writer). */
@Injectable()
export class RemindersRepository {
  constructor(@InjectModel(Key.name) private readonly keys: Model<Key>) {}

  findForReminder(keyId: string): Promise<ReminderView | null> {
    if (!Types.ObjectId.isValid(keyId)) return Promise.resolve(null);
    return this.keys
      .findById(keyId, {
        owner: 1,
        label: 1,
        lastFive: 1,
        contacts: 1,
        expiresAt: 1,
        status: 1,
        nextReminderAt: 1,
        remindersSent: 1,
        rotatedTo: 1,
      })
      .lean<ReminderView>()
      .exec();
  }

  /** Active keys without a reminder time (written before reminders existed). */
  findUnscheduled(): Promise<Unscheduled[]> {
    return this.keys
      .find({ status: KeyStatus.Active, nextReminderAt: null }, { createdAt: 1, expiresAt: 1 })
      .lean<Unscheduled[]>()
      .exec();
  }

  /** Sets the first reminder time of a key that still has none. */
  async schedule(id: Types.ObjectId, nextReminderAt: Date): Promise<boolean> {
    const result = await this.keys
      .updateOne({ _id: id, status: KeyStatus.Active, nextReminderAt: null }, { $set: { nextReminderAt } })
      .exec();
    return result.modifiedCount === 1;
  }

  /**
   * The claim: ONE conditional write that records the stage, moves `nextReminderAt` on, changes the
   * status if asked, and appends the event, only if the key still looks as it was read. Whoever
   * else got there first (another command, a revocation, a contacts change) makes it match nothing;
   * the caller re-reads. Returns whether this write won.
   */
  async claim(seen: ReminderView, claim: ReminderClaim, events: OutboxEntry[], now: Date): Promise<boolean> {
    const outbox = appendToOutbox(events, now);
    const result = await this.keys
      .updateOne(
        {
          _id: seen._id,
          status: KeyStatus.Active,
          nextReminderAt: seen.nextReminderAt,
          expiresAt: seen.expiresAt,
          contacts: seen.contacts,
        },
        {
          $set: { nextReminderAt: claim.nextReminderAt, ...(claim.status ? { status: claim.status } : {}) },
          $push: {
            ...outbox.$push,
            ...(claim.sentStage === undefined ? {} : { remindersSent: claim.sentStage }),
          },
          $max: outbox.$max,
        },
      )
      .exec();
    return result.matchedCount === 1;
  }
}
