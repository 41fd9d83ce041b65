import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';

/**
 * A login session, stored under the SHA-256 of its token (never the token). Keyed by that hash
 * so every request's lookup is by _id, which FerretDB answers without scanning.
 */
@Schema({ collection: 'sessions', versionKey: false })
export class Session {
  @Prop({ required: true }) _id: string;
  @Prop({ required: true }) userId: string;
  @Prop({ required: true }) createdAt: Date;
  @Prop({ required: true }) expiresAt: Date;
}
export const SessionSchema = SchemaFactory.createForClass(Session);
SessionSchema.index({ expiresAt: 1 });
