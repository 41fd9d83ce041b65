import { Topic } from '@keyward/contracts';
import { OutboxEntry } from './outbox-entry.schema';

/** An event to append to a document's outbox in the same update that changes the document. */
export function outboxEntry(topic: Topic, event: { eventId: string; keyId: string }): OutboxEntry {
  return {
    eventId: event.eventId,
    topic,
    key: event.keyId,
    value: JSON.stringify(event),
  };
}

/**
 * The update operators that append events to a document's outbox. `$max` on outboxAt marks the
 * document as waiting without cutting short a relay's lease (a lease is a time in the future).
 */
export function appendToOutbox(entries: OutboxEntry[], now: Date) {
  return { $push: { outbox: { $each: entries } }, $max: { outboxAt: now } };
}
