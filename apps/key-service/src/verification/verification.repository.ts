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

/** What verification reads of the keys collection (its writes are KeysRepository's). */
@Injectable()
export class VerificationRepository {
  constructor(@InjectModel(Key.name) private readonly keys: Model<Key>) {}

  /**
   * The key with this hash: by its derived id first (KeyHasher.idOf: keys issued by key-service),
   * then by hash alone (imported legacy keys and keys issued before ids were derived, whose ids are
   * random). The first lookup filters on `_id` alone and compares the hash here: hot lookups are
   * by `_id` alone, `{_id, hash}` is not one (see libs/mongo).
   */
  async findForVerification(id: string, hash: string): Promise<KeyForVerification | null> {
    const byId = await this.findOne({ _id: new Types.ObjectId(id) });
    const doc = byId?.hash === hash ? byId : await this.findOne({ hash });
    if (!doc) return null;
    return {
      id: doc._id.toHexString(),
      ownerId: doc.owner.userId,
      label: doc.label,
      status: doc.status,
      expiresAt: doc.expiresAt,
    };
  }

  private findOne(filter: { _id: Types.ObjectId } | { hash: string }) {
    return this.keys
      .findOne(filter, { hash: 1, 'owner.userId': 1, label: 1, status: 1, expiresAt: 1 })
      .lean<{
        _id: Types.ObjectId;
        hash: string;
        owner: { userId: string };
        label: string;
        status: KeyStatus;
        expiresAt: Date;
      }>()
      .exec();
  }
}
