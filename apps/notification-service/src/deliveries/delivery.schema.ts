import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';
import type { NotificationMessage } from '../emails/emails.service';

export enum DeliveryStatus {
  /** Not sent yet: due for its next attempt at `nextAttemptAt`. */
  Pending = 'pending',
  /**
   * Attempt `attempts` is handing the email to SMTP, leased until `nextAttemptAt`: written before
   * the send, so a worker that dies mid-send leaves a trace (see DeliveriesService.attempt).
   */
  Sending = 'sending',
  Sent = 'sent',
  /**
   * Given up: a permanent SMTP refusal, a message that cannot be rendered, or transient failures
   * past the give-up window (records of the previous version: past 20 attempts). Re-driven by
   * `npm run deliveries:redrive`.
   */
  Failed = 'failed',
}

/** One email of one message to one recipient; (eventId, recipient) is unique, so nothing is sent twice. */
@Schema({ collection: 'deliveries', versionKey: false, minimize: false })
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
  /** Attempts started (the previous version counted finished ones; both read the same while pending). */
  @Prop({ default: 0 }) attempts: number;
  /** Pending: when the next attempt is due. Sending: when its lease ends and the attempt is presumed lost. */
  @Prop({ type: Date, default: null }) nextAttemptAt: Date | null;
  /**
   * The message as it arrived, validated then and stored parsed (a login code stays sealed), so a
   * retry renders the same email without parsing it again. The previous version stored its JSON text.
   */
  @Prop({ required: true, type: Object }) message: NotificationMessage | string;
  /**
   * The Message-ID of its email on every attempt, random (see newMessageId). Absent on deliveries
   * the previous version recorded, whose Message-ID is derived (messageIdOf).
   */
  @Prop({ type: String }) messageId?: string;
  @Prop({ type: String, default: null }) smtpMessageId: string | null;
  /** The SMTP server's reply accepting the email (with its queue id), for tracing it at the provider. */
  @Prop({ type: String, default: null }) smtpResponse?: string | null;
  /** When an operator last re-drove it: the give-up window starts again here (absent on older records). */
  @Prop({ type: Date, default: null }) redrivenAt?: Date | null;
  @Prop({ type: String, default: null }) error: string | null;
  /**
   * Its account was closed: erased (only its eventId kept, in erased_events) once it is sent or
   * failed. Absent on deliveries of open accounts.
   */
  @Prop({ type: Boolean }) eraseWhenFinished?: boolean;
  @Prop({ required: true }) createdAt: Date;
  @Prop({ required: true }) updatedAt: Date;
}
export const DeliverySchema = SchemaFactory.createForClass(Delivery);
DeliverySchema.index({ eventId: 1, recipient: 1 }, { unique: true });
// The retry sweep: pending deliveries and lapsed leases by due time.
DeliverySchema.index({ status: 1, nextAttemptAt: 1 });
DeliverySchema.index({ keyId: 1, createdAt: -1 });
// Closing an account finds its deliveries by owner (key events) and by address (one-time codes).
DeliverySchema.index({ 'message.owner.userId': 1 }, { sparse: true });
DeliverySchema.index({ recipient: 1 });
// The erasure sweep.
DeliverySchema.index({ eraseWhenFinished: 1, status: 1 }, { sparse: true });
