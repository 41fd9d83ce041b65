import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';

export enum DeliveryStatus {
  Pending = 'pending',
  Sent = 'sent',
  Failed = 'failed',
}

/** One email of one event to one recipient; (eventId, recipient) is unique, so nothing is sent twice. */
@Schema({ collection: 'deliveries', versionKey: false })
export class Delivery {
  @Prop({ required: true }) eventId: string;
  @Prop({ required: true }) recipient: string;
  @Prop({ required: true }) eventType: string;
  @Prop({ required: true }) keyId: string;
  @Prop({ required: true, enum: DeliveryStatus, type: String })
  status: DeliveryStatus;
  @Prop({ default: 0 }) attempts: number;
  @Prop({ type: String, default: null }) smtpMessageId: string | null;
  @Prop({ type: String, default: null }) error: string | null;
  @Prop({ required: true }) createdAt: Date;
  @Prop({ required: true }) updatedAt: Date;
}
export const DeliverySchema = SchemaFactory.createForClass(Delivery);
DeliverySchema.index({ eventId: 1, recipient: 1 }, { unique: true });
DeliverySchema.index({ keyId: 1, createdAt: -1 });
