import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';

/**
 * A message whose deliveries were erased with the account they were about (DeliveriesRepository.erase):
 * all that is kept of them, so that a redelivered message is still refused rather than sent again.
 * Names no person: no recipient, owner or message.
 */
@Schema({ collection: 'erased_events', versionKey: false })
export class ErasedEvent {
  /** The message's eventId. */
  @Prop({ type: String, required: true }) _id: string;
  @Prop({ required: true }) eventType: string;
  @Prop({ required: true }) erasedAt: Date;
}
export const ErasedEventSchema = SchemaFactory.createForClass(ErasedEvent);
