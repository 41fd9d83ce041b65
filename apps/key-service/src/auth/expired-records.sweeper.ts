import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { Clock } from '@keyward/platform';
import { Model } from 'mongoose';
import { LoginCode } from './login-code.schema';
import { Session } from './session.schema';

const SWEEP_EVERY_MS = 5 * 60_000;

/**
 * Login records past their expiry are deleted here (keyward uses no TTL indexes: see libs/mongo). Lookups
 * already ignore expired records; this only keeps the collections small. A login code whose
 * email has not left its outbox yet is kept until the relay has published it.
 */
@Injectable()
export class ExpiredRecordsSweeper implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ExpiredRecordsSweeper.name);
  private timer?: NodeJS.Timeout;

  constructor(
    @InjectModel(Session.name) private readonly sessions: Model<Session>,
    @InjectModel(LoginCode.name) private readonly codes: Model<LoginCode>,
    private readonly clock: Clock,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.sweep(), SWEEP_EVERY_MS).unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  async sweep(): Promise<void> {
    const expired = { expiresAt: { $lt: this.clock.now() } };
    try {
      await this.sessions.deleteMany(expired);
      await this.codes.deleteMany({ ...expired, 'outbox.0': { $exists: false } });
    } catch (error) {
      this.logger.warn(`sweep failed, retrying next time: ${(error as Error).message}`);
    }
  }
}
