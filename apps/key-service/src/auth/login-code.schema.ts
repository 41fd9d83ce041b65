import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';
import { OutboxEntry, OutboxEntrySchema, OutboxFields } from '../outbox/outbox-entry.schema';

/**
 * The one-time login code of an email address (one live code per address; a new request
 * replaces it). Only a keyed hash of the code is stored; the email asking notification-service
 * to send it leaves through this document's outbox, with the code sealed. Keyed by the address,
 * so lookups are by _id (hot lookups are by _id: see libs/mongo).
 */
export const LOGIN_CODES_COLLECTION = 'login_codes';

@Schema({ collection: LOGIN_CODES_COLLECTION, versionKey: false })
export class LoginCode implements OutboxFields {
  /** The email address (a login code), or `account-closure:<user id>` (the code confirming a closure). */
  @Prop({ required: true }) _id: string;
  @Prop({ type: String, default: null }) codeHash: string | null;
  @Prop({ required: true }) expiresAt: Date;
  @Prop({ required: true }) createdAt: Date;
  @Prop({ type: [OutboxEntrySchema], default: [] }) outbox: OutboxEntry[];
  @Prop({ type: Date, default: null }) outboxAt: Date | null;
}
export const LoginCodeSchema = SchemaFactory.createForClass(LoginCode);
LoginCodeSchema.index({ outboxAt: 1 });
