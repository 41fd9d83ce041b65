import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { isObjectIdOrHexString, Model } from 'mongoose';
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

  /** No such account for an id that is not an account id (say, from a key event): not a cast error to retry. */
  findById(id: string): Promise<UserDocument | null> {
    if (!isObjectIdOrHexString(id)) return Promise.resolve(null);
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

  /** Marks the account as being closed (keeping the first time when asked again). */
  async markClosing(id: string, now: Date): Promise<void> {
    await this.users.updateOne({ _id: id, closingAt: null }, { $set: { closingAt: now } }).exec();
  }

  /** Accounts whose closure began before `before` and is not finished (interrupted). */
  findClosingBefore(before: Date): Promise<UserDocument[]> {
    return this.users.find({ closingAt: { $ne: null, $lt: before } }).exec();
  }

  /** The last step of a closure: the account and its login email go. */
  async deleteClosing(id: string): Promise<void> {
    await this.users.deleteOne({ _id: id, closingAt: { $ne: null } }).exec();
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
