import { normalizeEmail } from '../users/email-address';

/** Contacts as stored: trimmed, lowercased and deduplicated, so `A@x.io` and ` a@x.io` are one contact. */
export function normalizeContacts(contacts: readonly string[]): string[] {
  return [...new Set(contacts.map(normalizeEmail))];
}

/** True when both lists name the same contacts, whatever their order. */
export function sameContacts(a: readonly string[], b: readonly string[]): boolean {
  const left = new Set(a);
  return left.size === new Set(b).size && b.every((c) => left.has(c));
}
