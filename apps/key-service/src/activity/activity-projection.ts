import { AnyKeyEvent } from '@keyward/contracts';
import { ActivityEntry } from './activity-entry.schema';

/**
 * The activity entries a key event stands for: one, except a rotation, which is also the only
 * event about its replacement (so the new key's timeline starts with it), and a revocation by
 * closing the account, which stands for none (the account's activity goes with it). Ids derive
 * from the event's, so a redelivery records nothing new.
 */
export function activitiesOf(event: AnyKeyEvent): ActivityEntry[] {
  if (event.type === 'KeyRevoked' && event.payload.accountClosed) return [];
  const entry = activityOf(event);
  if (event.type !== 'KeyRotated') return [entry];
  const p = event.payload;
  return [
    entry,
    {
      ...entry,
      _id: `${event.eventId}:replacement`,
      keyId: p.newKeyId,
      label: p.newLabel,
      lastFive: p.newLastFive,
      action: 'created',
      details: { contacts: p.contacts, replaces: event.keyId },
    },
  ];
}

/**
 * The activity entry of a key event, on its key. Who did it follows from what happened: reminders
 * and expiries are the scheduler's, leaks (and revocations caused by one) a scanner's, anything
 * else the account's user (only the owner can change a key).
 */
function activityOf(event: AnyKeyEvent): ActivityEntry {
  const from = 'requestedFrom' in event.payload ? (event.payload.requestedFrom ?? null) : null;
  const user = { actor: 'user' as const, actorName: event.owner.email, from };
  const scheduler = { actor: 'scheduler' as const, actorName: "keyward's scheduler", from: null };
  const base = {
    _id: event.eventId,
    ownerId: event.owner.userId,
    keyId: event.keyId,
    at: new Date(event.occurredAt),
    label: event.payload.label,
    lastFive: event.payload.lastFive,
  };
  switch (event.type) {
    case 'KeyCreated':
      return { ...base, ...user, action: 'created', details: { contacts: event.payload.contacts } };
    case 'KeyContactsChanged': {
      const { previousContacts, contacts } = event.payload;
      return {
        ...base,
        ...user,
        action: 'contacts_changed',
        details: {
          added: contacts.filter((c) => !previousContacts.includes(c)),
          removed: previousContacts.filter((c) => !contacts.includes(c)),
        },
      };
    }
    case 'KeyRotated':
      return {
        ...base,
        ...user,
        action: 'rotated',
        details: {
          newKeyId: event.payload.newKeyId,
          newLabel: event.payload.newLabel,
          oldKeyExpiresAt: event.payload.oldKeyExpiresAt,
        },
      };
    case 'KeyRevoked':
      return event.payload.cause === 'leak'
        ? { ...base, actor: 'scanner', actorName: 'leak report', from, action: 'revoked', details: { cause: 'leak' } }
        : { ...base, ...user, action: 'revoked', details: { cause: 'owner' } };
    case 'KeyExpiring':
      return {
        ...base,
        ...scheduler,
        action: 'reminder_sent',
        // Sent to the contacts, or to the owner when there are none (legacy keys).
        details: {
          daysLeft: event.payload.daysLeft,
          to: event.payload.contacts.length > 0 ? event.payload.contacts : [event.owner.email],
        },
      };
    case 'KeyExpired':
      return { ...base, ...scheduler, action: 'expired', details: {} };
    case 'KeyLeaked': {
      const { url, source, reporter, action } = event.payload;
      return {
        ...base,
        actor: 'scanner',
        actorName: reporter,
        from: null,
        action: 'leak_reported',
        details: { url, source, response: action },
      };
    }
  }
}
