import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';
import { HydratedDocument } from 'mongoose';

@Schema({ collection: 'users', versionKey: false })
export class User {
  /** Login email, lowercased. */
  @Prop({ required: true }) email: string;
  /** Handle used as the key prefix (see usernameFromEmail). */
  @Prop({ required: true }) username: string;
  @Prop({ required: true }) timeZone: string;
  @Prop({ required: true }) createdAt: Date;
}
export type UserDocument = HydratedDocument<User>;
export const UserSchema = SchemaFactory.createForClass(User);
UserSchema.index({ email: 1 }, { unique: true });
