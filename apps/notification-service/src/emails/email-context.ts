import { AnyKeyEvent } from '@keyward/contracts';

/** "Fri, 21 May 2027, 10:00 GMT+8": a time in the owner's zone with the offset written out. */
export function formatInZone(iso: string, timeZone: string): string {
  return new Intl.DateTimeFormat('en-GB', {
    timeZone,
    weekday: 'short',
    day: 'numeric',
    month: 'long',
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
    timeZoneName: 'shortOffset',
  }).format(new Date(iso));
}

/** Template name for an event type: KeyContactsChanged → key-contacts-changed. */
export function templateName(type: string): string {
  return type.replace(/([a-z])([A-Z])/g, '$1-$2').toLowerCase();
}

/** Who hears of an event: its contacts (old and new for a contacts change), else the owner. */
export function recipientsOf(event: AnyKeyEvent): { address: string; reason: string }[] {
  const contacts =
    event.type === 'KeyContactsChanged'
      ? [...new Set([...event.payload.previousContacts, ...event.payload.contacts])]
      : event.payload.contacts;
  if (contacts.length === 0)
    return [
      {
        address: event.owner.email,
        reason: 'you own this account and the key has no contacts',
      },
    ];
  return contacts.map((address) => ({ address, reason: 'you are a contact' }));
}

/** Everything a template may show, already formatted. Never holds the key or its hash. */
export function emailContext(event: AnyKeyEvent, webAppUrl: string, recipientReason: string) {
  const tz = event.owner.timeZone;
  const p = event.payload;
  return {
    ...p,
    eventType: event.type,
    ownerEmail: event.owner.email,
    recipientReason,
    expiresAt: 'expiresAt' in p ? formatInZone(p.expiresAt, tz) : undefined,
    settingsUrl: `${webAppUrl.replace(/\/$/, '')}/settings#key-${encodeURIComponent(event.keyId)}`,
  };
}
