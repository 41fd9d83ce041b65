import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { Model } from 'mongoose';
import { OutboxEntry } from '../outbox/outbox-entry.schema';
import { appendToOutbox } from '../outbox/outbox';
import { CollectionOutbox, OutboxStore } from '../outbox/outbox-store';
import { LoginCode } from './login-code.schema';

/** The login_codes collection: every write to it, the outbox relay's included (`outbox`). */
@Injectable()
export class LoginCodesRepository {
  /** The outbox relay's reads and writes (they touch only the `outbox` and `outboxAt` fields). */
  readonly outbox: OutboxStore;

  constructor(@InjectModel(LoginCode.name) private readonly codes: Model<LoginCode>) {
    this.outbox = new CollectionOutbox(codes);
  }

  /** Replaces the address's code and queues its email, in one write. */
  async replace(email: string, codeHash: string, expiresAt: Date, event: OutboxEntry, now: Date): Promise<void> {
    const { $push, $max } = appendToOutbox([event], now);
    await this.codes.updateOne(
      { _id: email },
      { $set: { codeHash, expiresAt, createdAt: now }, $push, $max },
      { upsert: true },
    );
  }

  /**
   * The hash of the address's live code, or null. Guesses are not counted on the code (where
   * anyone's wrong guesses would burn the owner's code) but by the login rate limits, before this.
   */
  async liveCode(email: string, now: Date): Promise<string | null> {
    const code = await this.codes.findOne({ _id: email, codeHash: { $ne: null }, expiresAt: { $gt: now } }).lean();
    return code?.codeHash ?? null;
  }

  /** Deletes these codes (by address or id) and any email of them not sent yet. */
  async delete(ids: string[]): Promise<void> {
    await this.codes.deleteMany({ _id: { $in: ids } });
  }

  /** A code works once. */
  async consume(email: string, codeHash: string): Promise<boolean> {
    const result = await this.codes.updateOne({ _id: email, codeHash }, { $set: { codeHash: null } });
    return result.modifiedCount === 1;
  }
}
