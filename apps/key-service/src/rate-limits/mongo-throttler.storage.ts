import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { ThrottlerStorage } from '@nestjs/throttler';
import { MINUTE_MS } from '@keyward/contracts';
import { Clock, Sweeper } from '@keyward/platform';
import { Model } from 'mongoose';
import { RateLimitWindow } from './rate-limit-window.schema';

type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

/**
 * @nestjs/throttler's counters in MongoDB, so every key-service instance counts together: one
 * document per (limit, subject, fixed window), bumped by one atomic upsert. A subject over its
 * limit stays refused until its window ends (the limits here set no longer blockDuration). Past
 * windows are swept here, every five minutes.
 */
@Injectable()
export class MongoThrottlerStorage extends Sweeper implements ThrottlerStorage {
  constructor(
    @InjectModel(RateLimitWindow.name) private readonly windows: Model<RateLimitWindow>,
    private readonly clock: Clock,
  ) {
    super({ everyMs: 5 * MINUTE_MS, atStart: false });
  }

  /** `key` is already a hash (ThrottlerGuard's generateKey): no email or address is stored. */
  async increment(
    key: string,
    ttl: number,
    limit: number,
    _blockDuration: number,
    throttlerName: string,
  ): Promise<ThrottlerStorageRecord> {
    const now = this.clock.now().getTime();
    const start = now - (now % ttl);
    const window = await this.windows
      .findOneAndUpdate(
        { _id: `${throttlerName}:${key}:${start}` },
        { $inc: { count: 1 }, $setOnInsert: { expiresAt: new Date(start + ttl) } },
        { upsert: true, new: true },
      )
      .lean();
    const totalHits = window?.count ?? 1;
    const timeToExpire = Math.max(1, Math.ceil((start + ttl - now) / 1000));
    return { totalHits, timeToExpire, isBlocked: totalHits > limit, timeToBlockExpire: timeToExpire };
  }

  /** Deletes every window of these counters (`<limit>:<subject key>`): a closed account's. */
  async forget(counters: string[]): Promise<void> {
    for (const counter of counters) {
      // A range on _id, not a regex: an index-bounded query on every server (see libs/mongo).
      await this.windows.deleteMany({ _id: { $gt: `${counter}:`, $lt: `${counter};` } });
    }
  }

  protected async pass(): Promise<void> {
    await this.windows.deleteMany({ expiresAt: { $lt: this.clock.now() } });
  }
}
