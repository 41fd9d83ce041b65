import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { Model, Types } from 'mongoose';
import { Key, KeyStatus } from '../keys/key.schema';

export interface KeyForVerification {
  id: string;
  ownerId: string;
  label: string;
  status: KeyStatus;
  expiresAt: Date;
}

/** The reads and the one write (lastUsedAt) verification makes on the keys collection. */
@Injectable()
export class VerificationRepository {
  constructor(@InjectModel(Key.name) private readonly keys: Model<Key>) {}

  async findByHash(hash: string): Promise<KeyForVerification | null> {
    const doc = await this.keys
      .findOne({ hash }, { 'owner.userId': 1, label: 1, status: 1, expiresAt: 1 })
      .lean<{ _id: Types.ObjectId; owner: { userId: string }; label: string; status: KeyStatus; expiresAt: Date }>()
      .exec();
    if (!doc) return null;
    return {
      id: doc._id.toHexString(),
      ownerId: doc.owner.userId,
      label: doc.label,
      status: doc.status,
      expiresAt: doc.expiresAt,
    };
  }

  /** One round trip for a batch; `$max` so a late or repeated flush never moves a time backwards. */
  async recordLastUsed(times: Map<string, Date>): Promise<void> {
    if (times.size === 0) return;
    await this.keys.bulkWrite(
      [...times].map(([id, at]) => ({
        updateOne: { filter: { _id: new Types.ObjectId(id) }, update: { $max: { lastUsedAt: at } } },
      })),
      { ordered: false },
    );
  }
}
