import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { Clock, TooManyRequestsException } from '@keyward/platform';
import { Model } from 'mongoose';
import { createHash } from 'node:crypto';
import { RateLimitWindow } from './rate-limit.schema';

export interface RateLimitRule {
  name: string;
  limit: number;
  windowMs: number;
}

const FIFTEEN_MINUTES = 15 * 60 * 1000;

/** Login and code requests, per email address and per client address. */
export const AUTH_RATE_LIMITS = {
  codePerEmail: { name: 'otp-email', limit: 5, windowMs: FIFTEEN_MINUTES },
  codePerClient: { name: 'otp-client', limit: 20, windowMs: FIFTEEN_MINUTES },
  loginPerEmail: { name: 'login-email', limit: 10, windowMs: FIFTEEN_MINUTES },
  loginPerClient: { name: 'login-client', limit: 30, windowMs: FIFTEEN_MINUTES },
} satisfies Record<string, RateLimitRule>;

/**
 * Fixed-window rate limits kept in MongoDB so every instance counts together (expired windows
 * are deleted by ExpiredRecordsSweeper). Subjects are hashed: no email in the key.
 */
@Injectable()
export class RateLimiter {
  constructor(
    @InjectModel(RateLimitWindow.name) private readonly windows: Model<RateLimitWindow>,
    private readonly clock: Clock,
  ) {}

  /** Counts a hit for each (rule, subject); throws 429 with Retry-After when any is over its limit. */
  async hit(...checks: [RateLimitRule, string][]): Promise<void> {
    const now = this.clock.now().getTime();
    const results = await Promise.all(
      checks.map(async ([rule, subject]) => {
        const start = now - (now % rule.windowMs);
        const id = `${rule.name}:${createHash('sha256').update(subject).digest('base64url')}:${start}`;
        const window = await this.windows
          .findOneAndUpdate(
            { _id: id },
            { $inc: { count: 1 }, $setOnInsert: { expiresAt: new Date(start + rule.windowMs) } },
            { upsert: true, new: true },
          )
          .lean();
        return { over: (window?.count ?? 0) > rule.limit, retryAfterMs: start + rule.windowMs - now };
      }),
    );
    const over = results.filter((r) => r.over);
    if (over.length > 0) {
      throw new TooManyRequestsException(Math.ceil(Math.max(...over.map((r) => r.retryAfterMs)) / 1000));
    }
  }
}
