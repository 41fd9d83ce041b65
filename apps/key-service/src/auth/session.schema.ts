import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';

/** A login session; only the SHA-256 of its token is stored. Expired ones are ignored by the query. */
@Schema({ collection: 'sessions', versionKey: false })
export class Session {
  @Prop({ required: true }) tokenHash: string;
  @Prop({ required: true }) userId: string;
  @Prop({ required: true }) createdAt: Date;
  @Prop({ required: true }) expiresAt: Date;
}
export const SessionSchema = SchemaFactory.createForClass(Session);
SessionSchema.index({ tokenHash: 1 }, { unique: true });
SessionSchema.index({ expiresAt: 1 });
