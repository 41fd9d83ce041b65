import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';
import { HydratedDocument } from 'mongoose';

@Schema({ collection: 'users', versionKey: false })
export class User {
  /** Login email, lowercased. */
  @Prop({ required: true }) email: string;
  /** Handle used as the key prefix (see usernameFromEmail). */
  @Prop({ required: true }) username: string;
  /** IANA zone every time in emails and Settings is shown in; DEFAULT_TIME_ZONE until the owner picks one. */
  @Prop({ required: true }) timeZone: string;
  /** When the owner last chose `timeZone`; absent (accounts from before the choice existed) or null: never. */
  @Prop({ type: Date, default: null }) timeZoneChosenAt?: Date | null;
  @Prop({ required: true }) createdAt: Date;
  /**
   * Set when the owner confirmed closing the account: from then on its sessions answer 404 and it
   * cannot sign in; the closure deletes this document last (and finishes after a crash).
   */
  @Prop({ type: Date }) closingAt?: Date;
}
export type UserDocument = HydratedDocument<User>;
export const UserSchema = SchemaFactory.createForClass(User);
UserSchema.index({ email: 1 }, { unique: true });
/** Closures to finish after a crash. */
UserSchema.index({ closingAt: 1 });
