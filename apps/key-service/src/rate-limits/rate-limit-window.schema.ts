import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';

/** One fixed-window hit counter, shared by every key-service instance. Old windows are swept. */
@Schema({ collection: 'rate_limits', versionKey: false })
export class RateLimitWindow {
  /** `<limit name>:<hashed subject>:<window start ms>` */
  @Prop({ required: true }) _id: string;
  @Prop({ required: true }) count: number;
  @Prop({ required: true }) expiresAt: Date;
}
export const RateLimitWindowSchema = SchemaFactory.createForClass(RateLimitWindow);
RateLimitWindowSchema.index({ expiresAt: 1 });
