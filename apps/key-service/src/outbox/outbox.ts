import { Topic } from '@keyward/contracts';
import { OutboxEntry } from './outbox-entry.schema';

/**
 * An event to append to a document's outbox in the same update that changes the document.
 * Key events are partitioned by keyId; other events name their partition key.
 */
export function outboxEntry(
  topic: Topic,
  event: { eventId: string; keyId?: string },
  partitionKey: string | undefined = event.keyId,
): OutboxEntry {
  if (!partitionKey) throw new Error(`outbox entry ${event.eventId} needs a partition key`);
  return { eventId: event.eventId, topic, key: partitionKey, value: JSON.stringify(event) };
}

/**
 * The update operators that append events to a document's outbox. `$max` on outboxAt marks the
 * document as waiting without cutting short a relay's lease (a lease is a time in the future).
 */
export function appendToOutbox(entries: OutboxEntry[], now: Date) {
  return { $push: { outbox: { $each: entries } }, $max: { outboxAt: now } };
}
