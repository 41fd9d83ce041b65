import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { Clock } from '@keyward/platform';
import { Model } from 'mongoose';
import { createHash, randomBytes } from 'node:crypto';
import { Session } from './session.schema';

export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;

const hashToken = (token: string) => createHash('sha256').update(token).digest('base64url');

@Injectable()
export class SessionsRepository {
  constructor(
    @InjectModel(Session.name) private readonly sessions: Model<Session>,
    private readonly clock: Clock,
  ) {}

  /** Starts a session and returns its token (shown to the client once, stored only as a hash). */
  async create(userId: string): Promise<{ token: string; expiresAt: Date }> {
    const now = this.clock.now();
    const token = randomBytes(32).toString('base64url');
    const expiresAt = new Date(now.getTime() + SESSION_TTL_MS);
    await this.sessions.create({ _id: hashToken(token), userId, createdAt: now, expiresAt });
    return { token, expiresAt };
  }

  async findSession(token: string): Promise<Session | null> {
    const session = await this.sessions.findById(hashToken(token)).lean().exec();
    return session && session.expiresAt > this.clock.now() ? session : null;
  }

  async delete(token: string): Promise<void> {
    await this.sessions.deleteOne({ _id: hashToken(token) });
  }
}
