import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';

/**
 * A login session, stored under the SHA-256 of its token (never the token). Keyed by that hash
 * so every request's lookup is by _id (hot lookups are by _id: see libs/mongo). Sessions stored
 * before the device fields existed have none of them: they read as never seen, from nowhere known.
 */
@Schema({ collection: 'sessions', versionKey: false })
export class Session {
  @Prop({ required: true }) _id: string;
  /** Absent on the ended sessions of a closed account. */
  @Prop({ required: true }) userId: string;
  /**
   * The session's account was closed: all that is left is the token's hash and expiry (nothing
   * about the person), so that using the session answers 404 "account closed" rather than 401
   * until it would have expired and the sweep deletes it.
   */
  @Prop({ type: Boolean }) accountClosed?: boolean;
  @Prop({ required: true }) createdAt: Date;
  @Prop({ required: true }) expiresAt: Date;
  /** The last request on it, to the minute (see SessionsRepository.seen). */
  @Prop({ type: Date, default: null }) lastSeenAt?: Date | null;
  /** The client address of that request (behind a trusted proxy, the address it forwarded). */
  @Prop({ type: String, default: null }) clientAddress?: string | null;
  /** The device it was opened on, summarised ("Firefox 133 on Windows"); never the raw header. */
  @Prop({ type: String, default: null }) userAgent?: string | null;
}
export const SessionSchema = SchemaFactory.createForClass(Session);
SessionSchema.index({ expiresAt: 1 });
/** An account's sessions, listed and ended together in Settings → Account. */
SessionSchema.index({ userId: 1 });
