import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { Model } from 'mongoose';
import { createHash, randomBytes } from 'node:crypto';
import { Session } from './session.schema';

export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;

const hashToken = (token: string) => createHash('sha256').update(token).digest('base64url');

@Injectable()
export class SessionsRepository {
  constructor(@InjectModel(Session.name) private readonly sessions: Model<Session>) {}

  /** Starts a session and returns its token (shown to the client once, stored only as a hash). */
  async create(userId: string, now = new Date()): Promise<{ token: string; expiresAt: Date }> {
    const token = randomBytes(32).toString('base64url');
    const expiresAt = new Date(now.getTime() + SESSION_TTL_MS);
    await this.sessions.create({
      tokenHash: hashToken(token),
      userId,
      createdAt: now,
      expiresAt,
    });
    return { token, expiresAt };
  }

  async findUserId(token: string, now = new Date()): Promise<string | null> {
    return (await this.findSession(token, now))?.userId ?? null;
  }

  findSession(token: string, now = new Date()): Promise<Session | null> {
    return this.sessions
      .findOne({ tokenHash: hashToken(token), expiresAt: { $gt: now } })
      .lean()
      .exec();
  }

  async delete(token: string): Promise<void> {
    await this.sessions.deleteOne({ tokenHash: hashToken(token) });
  }
}
