import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { Model } from 'mongoose';
import { KeyServiceSettings } from '../config/key-service.env';
import { normalizeEmail } from './email-address';
import { usernameFromEmail } from './username';
import { User, UserDocument } from './user.schema';

@Injectable()
export class UsersRepository {
  constructor(
    @InjectModel(User.name) private readonly users: Model<User>,
    private readonly settings: KeyServiceSettings,
  ) {}

  findById(id: string): Promise<UserDocument | null> {
    return this.users.findById(id).exec();
  }

  findByEmail(email: string): Promise<UserDocument | null> {
    return this.users.findOne({ email: normalizeEmail(email) }).exec();
  }

  /** Records the owner's choice of time zone; null when the account is gone. */
  async chooseTimeZone(id: string, timeZone: string, now: Date): Promise<UserDocument | null> {
    const { matchedCount } = await this.users
      .updateOne({ _id: id }, { $set: { timeZone, timeZoneChosenAt: now } })
      .exec();
    return matchedCount === 1 ? this.findById(id) : null;
  }

  /** The account for a login email, created on first use (idempotent under concurrency). */
  async findOrCreate(email: string, now = new Date()): Promise<UserDocument> {
    const normalized = normalizeEmail(email);
    const user = await this.users
      .findOneAndUpdate(
        { email: normalized },
        {
          $setOnInsert: {
            email: normalized,
            username: usernameFromEmail(normalized),
            timeZone: this.settings.DEFAULT_TIME_ZONE,
            createdAt: now,
          },
        },
        { upsert: true, new: true },
      )
      .exec();
    return user as UserDocument;
  }
}
