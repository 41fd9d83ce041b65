import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { MINUTE_MS } from '@keyward/contracts';
import { Clock, Sweeper } from '@keyward/platform';
import { Model } from 'mongoose';
import { LoginCode } from './login-code.schema';
import { Session } from './session.schema';

/**
 * Deletes login records past their expiry, every five minutes. Lookups already ignore expired
 * records; this only keeps the collections small. A login code whose email has not left its
 * outbox yet is kept until the relay has published it.
 */
@Injectable()
export class ExpiredRecordsSweeper extends Sweeper {
  constructor(
    @InjectModel(Session.name) private readonly sessions: Model<Session>,
    @InjectModel(LoginCode.name) private readonly codes: Model<LoginCode>,
    private readonly clock: Clock,
  ) {
    super({ everyMs: 5 * MINUTE_MS, atStart: false });
  }

  protected async pass(): Promise<void> {
    const expired = { expiresAt: { $lt: this.clock.now() } };
    await this.sessions.deleteMany(expired);
    await this.codes.deleteMany({ ...expired, 'outbox.0': { $exists: false } });
  }
}
