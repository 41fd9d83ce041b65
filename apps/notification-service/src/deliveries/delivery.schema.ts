import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';

export enum DeliveryStatus {
  /** Not sent yet: due for its next attempt at `nextAttemptAt`. */
  Pending = 'pending',
  Sent = 'sent',
  /** Given up: a permanent SMTP refusal, or transient failures until the attempts ran out. */
  Failed = 'failed',
}

/** One email of one message to one recipient; (eventId, recipient) is unique, so nothing is sent twice. */
@Schema({ collection: 'deliveries', versionKey: false })
export class Delivery {
  /** `${eventId}/${recipient}` (see deliveryId). */
  @Prop({ type: String, required: true }) _id: string;
  @Prop({ required: true }) eventId: string;
  @Prop({ required: true }) recipient: string;
  @Prop({ required: true }) eventType: string;
  /** Null for emails that are not about a key (login codes). */
  @Prop({ type: String, default: null }) keyId: string | null;
  @Prop({ required: true, enum: DeliveryStatus, type: String })
  status: DeliveryStatus;
  @Prop({ default: 0 }) attempts: number;
  @Prop({ type: Date, default: null }) nextAttemptAt: Date | null;
  /** The validated message as it arrived (a login code stays sealed), so a retry renders the same email. */
  @Prop({ required: true }) message: string;
  @Prop({ type: String, default: null }) smtpMessageId: string | null;
  @Prop({ type: String, default: null }) error: string | null;
  @Prop({ required: true }) createdAt: Date;
  @Prop({ required: true }) updatedAt: Date;
}
export const DeliverySchema = SchemaFactory.createForClass(Delivery);
DeliverySchema.index({ eventId: 1, recipient: 1 }, { unique: true });
// The retry sweep: pending deliveries by due time.
DeliverySchema.index({ status: 1, nextAttemptAt: 1 });
DeliverySchema.index({ keyId: 1, createdAt: -1 });
