import { createHash, randomBytes } from 'node:crypto';
import type { Delivery } from './delivery.schema';

/**
 * A new delivery's Message-ID: its event and 128 random bits, drawn once when the delivery is
 * recorded and kept on it, so every attempt sends the same one (a repeat is recognisable downstream)
 * and no one can know it before it is sent: it cannot be planted at the relay ahead of a lapsed send
 * to make the relay lookup record that send as made (docs/SECURITY.md).
 */
export function newMessageId(eventId: string): string {
  return `<${eventId}.${randomBytes(16).toString('base64url')}@keyward>`;
}

/**
 * The Message-ID a delivery's email goes out with. Deliveries the previous version recorded carry
 * none: theirs was derived from the event and the recipient, and stays so, so that a send it
 * started and left lapsed is looked up at the relay, and sent again, under the Message-ID it had.
 */
export function messageIdOf(delivery: Pick<Delivery, 'eventId' | 'recipient' | 'messageId'>): string {
  if (delivery.messageId) return delivery.messageId;
  const recipientTag = createHash('sha256').update(delivery.recipient).digest('base64url').slice(0, 12);
  return `<${delivery.eventId}.${recipientTag}@keyward>`;
}
