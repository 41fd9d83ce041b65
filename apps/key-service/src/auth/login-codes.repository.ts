import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { Model } from 'mongoose';
import { OutboxEntry } from '../outbox/outbox-entry.schema';
import { appendToOutbox } from '../outbox/outbox';
import { LoginCode } from './login-code.schema';

export const MAX_CODE_ATTEMPTS = 5;

@Injectable()
export class LoginCodesRepository {
  constructor(@InjectModel(LoginCode.name) private readonly codes: Model<LoginCode>) {}

  /** Replaces the address's code (resetting attempts) and queues its email, in one write. */
  async replace(email: string, codeHash: string, expiresAt: Date, event: OutboxEntry, now: Date): Promise<void> {
    const { $push, $max } = appendToOutbox([event], now);
    await this.codes.updateOne(
      { _id: email },
      { $set: { codeHash, expiresAt, attempts: 0, createdAt: now }, $push, $max },
      { upsert: true },
    );
  }

  /**
   * Counts one attempt against the live code and returns its hash, or null when there is no
   * live code or its attempts are used up. Counting before comparing bounds guessing even
   * under concurrent requests.
   */
  async takeAttempt(email: string, now: Date): Promise<string | null> {
    const code = await this.codes
      .findOneAndUpdate(
        { _id: email, codeHash: { $ne: null }, expiresAt: { $gt: now }, attempts: { $lt: MAX_CODE_ATTEMPTS } },
        { $inc: { attempts: 1 } },
        { new: true },
      )
      .lean();
    return code?.codeHash ?? null;
  }

  /** A code works once. */
  async consume(email: string, codeHash: string): Promise<boolean> {
    const result = await this.codes.updateOne({ _id: email, codeHash }, { $set: { codeHash: null } });
    return result.modifiedCount === 1;
  }
}
