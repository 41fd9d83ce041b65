import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';
import { Topic } from '@keyward/contracts';

/**
 * An event waiting to be published, embedded in the document whose change it describes, so the
 * change and its event are one atomic write (keyward uses no multi-document transactions: see libs/mongo).
 */
@Schema({ _id: false })
export class OutboxEntry {
  @Prop({ required: true }) eventId: string;
  @Prop({ required: true, type: String }) topic: Topic;
  /** Partition key (the keyId for key events). */
  @Prop({ required: true }) key: string;
  /** The serialized, already validated event. */
  @Prop({ required: true }) value: string;
}
export const OutboxEntrySchema = SchemaFactory.createForClass(OutboxEntry);

/** Fields a document carries to take part in the outbox. */
export interface OutboxFields {
  outbox: OutboxEntry[];
  /** Set while events wait; the relay's index-bounded query and lease both use it. */
  outboxAt?: Date | null;
}
