import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { Clock } from '@keyward/platform';
import { Model } from 'mongoose';
import { createHash, randomBytes } from 'node:crypto';
import { KeyHasher } from '../hashing/key-hasher';
import { Session } from './session.schema';

export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;
/** A session's last-seen time is written at most this often: a request does not cost a write. */
export const LAST_SEEN_PRECISION_MS = 60_000;

/** A session's stored key: the SHA-256 of its token (the token itself is never stored). */
export const hashToken = (token: string) => createHash('sha256').update(token).digest('base64url');

/** Where a session is used from: the request's client address and its device summary. */
export interface SessionDevice {
  clientAddress: string | null;
  userAgent: string | null;
}

/** A live session as its owner sees it: `id` names it without being its token or the token's hash. */
export interface SessionView extends Required<Omit<Session, '_id' | 'userId' | 'accountClosed'>> {
  id: string;
  /** The stored key (hash of the token), for telling the caller's own session apart; never shown. */
  key: string;
}

@Injectable()
export class SessionsRepository {
  constructor(
    @InjectModel(Session.name) private readonly sessions: Model<Session>,
    private readonly hasher: KeyHasher,
    private readonly clock: Clock,
  ) {}

  /** Starts a session and returns its token (shown to the client once, stored only as a hash). */
  async create(userId: string, device: SessionDevice): Promise<{ token: string; expiresAt: Date }> {
    const now = this.clock.now();
    const token = randomBytes(32).toString('base64url');
    const expiresAt = new Date(now.getTime() + SESSION_TTL_MS);
    await this.sessions.create({
      _id: hashToken(token),
      userId,
      createdAt: now,
      expiresAt,
      lastSeenAt: now,
      ...device,
    });
    return { token, expiresAt };
  }

  async findSession(token: string): Promise<Session | null> {
    const session = await this.sessions.findById(hashToken(token)).lean().exec();
    return session && session.expiresAt > this.clock.now() ? session : null;
  }

  /**
   * Records a request on the session, at most once per LAST_SEEN_PRECISION_MS: otherwise it writes
   * nothing. Conditional on the time it read, so instances racing on one session write once.
   */
  async seen(session: Session, clientAddress: string | null): Promise<void> {
    const now = this.clock.now();
    const last = session.lastSeenAt ?? null;
    if (last && now.getTime() - last.getTime() < LAST_SEEN_PRECISION_MS) return;
    // Null also matches sessions stored before the field existed.
    await this.sessions.updateOne({ _id: session._id, lastSeenAt: last }, { $set: { lastSeenAt: now, clientAddress } });
  }

  /**
   * Ends every session of a closed account: each keeps only its token's hash and expiry (see
   * Session.accountClosed), so it no longer names the account.
   */
  async endForClosedAccount(userId: string): Promise<void> {
    await this.sessions.updateMany(
      { userId },
      { $set: { accountClosed: true }, $unset: { userId: 1, lastSeenAt: 1, clientAddress: 1, userAgent: 1 } },
    );
  }

  async delete(token: string): Promise<void> {
    await this.sessions.deleteOne({ _id: hashToken(token) });
  }

  /** The account's live sessions, newest first. */
  async listOf(userId: string): Promise<SessionView[]> {
    const sessions = await this.sessions
      .find({ userId, expiresAt: { $gt: this.clock.now() } })
      .sort({ createdAt: -1 })
      .lean()
      .exec();
    return sessions.map((session) => ({
      id: this.idOf(session._id),
      key: session._id,
      createdAt: session.createdAt,
      expiresAt: session.expiresAt,
      lastSeenAt: session.lastSeenAt ?? null,
      clientAddress: session.clientAddress ?? null,
      userAgent: session.userAgent ?? null,
    }));
  }

  /** Ends the account's session named `id` and returns its key; null when it has none by that id (another's included). */
  async endOne(userId: string, id: string): Promise<string | null> {
    const session = (await this.listOf(userId)).find((s) => s.id === id);
    if (!session) return null;
    const { deletedCount } = await this.sessions.deleteOne({ _id: session.key, userId });
    return deletedCount === 1 ? session.key : null;
  }

  /** Ends every session of the account but the one whose key is `keep`; how many ended. */
  async endOthers(userId: string, keep: string): Promise<number> {
    const { deletedCount } = await this.sessions.deleteMany({ userId, _id: { $ne: keep } });
    return deletedCount;
  }

  /**
   * A session's public id: a keyed hash of its stored key, so it is stable, the same for sessions
   * stored before ids existed, and tells nothing of the token (nor lets one find the stored hash).
   */
  private idOf(key: string): string {
    return this.hasher.hash(`session-id:${key}`).slice(0, 22);
  }
}
