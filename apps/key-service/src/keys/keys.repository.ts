import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { Model, Types } from 'mongoose';
import { OutboxEntry } from '../outbox/outbox-entry.schema';
import { Key, KeyDocument, KeyStatus } from './key.schema';

export const DUPLICATE_KEY = 11000;

/** The keys collection. key-service is its only writer. */
@Injectable()
export class KeysRepository {
  constructor(@InjectModel(Key.name) private readonly keys: Model<Key>) {}

  newId(): string {
    return new Types.ObjectId().toHexString();
  }

  /** Inserts a key together with its first events (one atomic document write). */
  async insert(
    id: string,
    key: Omit<Key, 'outbox' | 'outboxAt'>,
    events: OutboxEntry[],
    now: Date,
  ): Promise<KeyDocument> {
    return this.keys.create({
      _id: new Types.ObjectId(id),
      ...key,
      outbox: events,
      outboxAt: now,
    });
  }

  countActive(ownerId: string, now: Date): Promise<number> {
    return this.keys
      .countDocuments({
        'owner.userId': ownerId,
        status: KeyStatus.Active,
        expiresAt: { $gt: now },
      })
      .exec();
  }

  listByOwner(ownerId: string): Promise<KeyDocument[]> {
    return this.keys.find({ 'owner.userId': ownerId }, { outbox: 0 }).sort({ createdAt: -1 }).exec();
  }

  /** A key of this owner, or null: another owner's key is indistinguishable from a missing one. */
  findOwned(ownerId: string, id: string): Promise<KeyDocument | null> {
    if (!Types.ObjectId.isValid(id)) return Promise.resolve(null);
    return this.keys.findOne({ _id: id, 'owner.userId': ownerId }, { outbox: 0 }).exec();
  }
}
