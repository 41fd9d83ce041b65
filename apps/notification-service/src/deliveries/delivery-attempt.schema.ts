import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';

/**
 * One attempt at one delivery. Inserting it is how a worker takes the attempt: the unique index
 * lets exactly one of several racing workers (consumer, retry sweeps, other instances, and workers
 * of the previous version, which claim only this way) in; the winner then marks the delivery
 * sending (DeliveriesRepository.startAttempt). Kept as the attempt history.
 */
@Schema({ collection: 'delivery_attempts', versionKey: false })
export class DeliveryAttempt {
  /** `${deliveryId}/${attempt}`: the insert that takes the attempt collides on it. */
  @Prop({ type: String, required: true }) _id: string;
  @Prop({ required: true }) eventId: string;
  @Prop({ required: true }) recipient: string;
  @Prop({ required: true }) attempt: number;
  @Prop({ required: true }) startedAt: Date;
  /** Until when the attempt is presumed in progress; past it, a crashed holder's attempt counts as lost. */
  @Prop({ required: true }) leaseUntil: Date;
}
export const DeliveryAttemptSchema = SchemaFactory.createForClass(DeliveryAttempt);
DeliveryAttemptSchema.index({ eventId: 1, recipient: 1, attempt: 1 }, { unique: true });
