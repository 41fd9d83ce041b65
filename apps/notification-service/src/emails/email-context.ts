import { AnyKeyEvent, DAY_MS, OneTimeCodeRequested } from '@keyward/contracts';

const zoneFormats = new Map<string, Intl.DateTimeFormat>();

/** "Fri, 21 May 2027, 10:00 GMT+8": a time in the owner's zone with the offset written out. */
export function formatInZone(iso: string, timeZone: string): string {
  let format = zoneFormats.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-GB', {
      timeZone,
      weekday: 'short',
      day: 'numeric',
      month: 'long',
      year: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
      timeZoneName: 'shortOffset',
    });
    zoneFormats.set(timeZone, format);
  }
  // Assembled from parts: the joining words ("," or "at") differ between ICU versions.
  const part = Object.fromEntries(format.formatToParts(new Date(iso)).map((p) => [p.type, p.value]));
  return `${part.weekday}, ${part.day} ${part.month} ${part.year}, ${part.hour}:${part.minute} ${part.timeZoneName}`;
}

/** Whole days from `from` until `to` (0 once less than a day is left). */
export function wholeDaysBetween(from: string, to: string): number {
  return Math.max(0, Math.floor((Date.parse(to) - Date.parse(from)) / DAY_MS));
}

/** "in 30 days", "in 1 day", "within a day". */
export function inDays(days: number): string {
  if (days <= 0) return 'within a day';
  return days === 1 ? 'in 1 day' : `in ${days} days`;
}

/** Template name for a message type: KeyContactsChanged → key-contacts-changed. */
export function templateName(type: string): string {
  return type.replace(/([a-z])([A-Z])/g, '$1-$2').toLowerCase();
}

/** A key event's template: its type's, except a revocation by closing the account, which says so. */
export function keyEventTemplate(event: AnyKeyEvent): string {
  if (event.type === 'KeyRevoked' && event.payload.accountClosed) return 'key-revoked-account-closed';
  return templateName(event.type);
}

export interface Recipient {
  address: string;
  /** The line that tells this recipient why they receive the email. */
  reason: string;
}

/**
 * Who hears of a key event: its contacts (old and new for a contacts change), else the owner
 * (legacy keys may have no contacts). A leak goes to the contacts and the owner; a revocation
 * caused by a leak goes to no one, as the leak email says the key was revoked.
 */
export function recipientsOf(event: AnyKeyEvent): Recipient[] {
  if (event.type === 'KeyRevoked' && event.payload.cause === 'leak') return [];
  if (event.type === 'KeyLeaked') {
    const contacts = event.payload.contacts.map((address) => ({ address, reason: 'you are one of its contacts' }));
    if (event.payload.contacts.includes(event.owner.email)) return contacts;
    return [...contacts, { address: event.owner.email, reason: 'you own the account' }];
  }
  if (event.type === 'KeyContactsChanged') {
    const { previousContacts, contacts } = event.payload;
    const all = [...new Set([...previousContacts, ...contacts])];
    if (all.length > 0)
      return all.map((address) => ({
        address,
        reason: !contacts.includes(address)
          ? 'you were removed from its contacts'
          : !previousContacts.includes(address)
            ? 'you were added to its contacts'
            : 'you are one of its contacts',
      }));
  } else if (event.payload.contacts.length > 0) {
    return event.payload.contacts.map((address) => ({ address, reason: 'you are one of its contacts' }));
  }
  return [{ address: event.owner.email, reason: 'you own the account and the key has no contacts' }];
}

/**
 * Where a leaked key was found, written so mail apps do not turn it into a link
 * (`https[:]//github[.]com/…`): it came from a report and may lead anywhere.
 */
export function unlinked(url: string): string {
  // One line, whatever the report held.
  const line = url.replace(/\p{Cc}+/gu, ' ');
  const [, scheme = '', host, rest] = /^([a-z][a-z0-9+.-]*:\/\/)?([^/?#\s]*)(.*)$/i.exec(line)!;
  return `${scheme.replace('://', '[:]//')}${host.replaceAll('.', '[.]')}${rest}`;
}

/** How a reminder reads: calm a month out, pressing in the last days. */
export function reminderTone(daysLeft: number): 'notice' | 'soon' | 'urgent' {
  if (daysLeft >= 14) return 'notice';
  return daysLeft >= 5 ? 'soon' : 'urgent';
}

/**
 * Who made a key event happen, and how to reach the account's owner, for every email's footer:
 * a contact who never asked for keyward's emails learns whom to ask about them.
 */
export function sentBy(event: AnyKeyEvent): string {
  const owner = event.owner.email;
  const cause =
    event.type === 'KeyExpiring' || event.type === 'KeyExpired'
      ? `Sent automatically by keyward for the keyward account ${owner}.`
      : event.type === 'KeyRevoked' && event.payload.accountClosed
        ? `Sent because the keyward account ${owner} was closed.`
        : `Sent because the keyward account ${owner} changed this key.`;
  return `${cause} Questions about this key? Write to the account owner at ${owner}.`;
}

/** Everything a key-event template may show, already formatted. Never holds the key or its hash. */
export function keyEventContext(event: AnyKeyEvent, recipient: Recipient, webAppUrl: string) {
  const tz = event.owner.timeZone;
  const at = (iso: string) => formatInZone(iso, tz);
  const settings = (keyId: string) => `${webAppUrl.replace(/\/$/, '')}/settings#key-${encodeURIComponent(keyId)}`;
  const common = {
    label: event.payload.label,
    lastFive: event.payload.lastFive,
    ownerEmail: event.owner.email,
    timeZone: tz,
    recipientReason: `${recipient.reason}: the API key "${event.payload.label}" (ending ${event.payload.lastFive}) on the keyward account ${event.owner.email}`,
    settingsUrl: settings(event.keyId),
    sentBy: sentBy(event),
  };
  switch (event.type) {
    case 'KeyCreated': {
      const p = event.payload;
      const daysLeft = wholeDaysBetween(event.occurredAt, p.expiresAt);
      return { ...common, expiresAt: at(p.expiresAt), createdAt: at(p.createdAt), daysLeft, inDays: inDays(daysLeft) };
    }
    case 'KeyExpiring': {
      const p = event.payload;
      const tone = reminderTone(p.daysLeft);
      return {
        ...common,
        expiresAt: at(p.expiresAt),
        daysLeft: p.daysLeft,
        inDays: inDays(p.daysLeft),
        notice: tone === 'notice',
        soon: tone === 'soon',
        urgent: tone === 'urgent',
        finalReminder: p.finalReminder,
      };
    }
    case 'KeyExpired':
      // Named apart from expiresAt so the summary does not list it as a future expiry.
      return { ...common, expiredAt: at(event.payload.expiresAt) };
    case 'KeyRevoked':
      return { ...common, revokedAt: at(event.payload.revokedAt) };
    case 'KeyLeaked': {
      const p = event.payload;
      return {
        ...common,
        reportedAt: at(p.reportedAt),
        reporter: p.reporter,
        foundAt: p.url ? unlinked(p.url) : null,
        source: p.source,
        revoked: p.action === 'revoked',
      };
    }
    case 'KeyRotated': {
      const p = event.payload;
      const daysLeft = wholeDaysBetween(event.occurredAt, p.newExpiresAt);
      return {
        ...common,
        oldKeyExpiresAt: at(p.oldKeyExpiresAt),
        oldKeyStillWorks: Date.parse(p.oldKeyExpiresAt) > Date.parse(event.occurredAt),
        newLabel: p.newLabel,
        newLastFive: p.newLastFive,
        newExpiresAt: at(p.newExpiresAt),
        daysLeft,
        inDays: inDays(daysLeft),
        // The action is on the new key now.
        settingsUrl: settings(p.newKeyId),
      };
    }
    case 'KeyContactsChanged': {
      const p = event.payload;
      const removed = !p.contacts.includes(recipient.address);
      const added = !removed && !p.previousContacts.includes(recipient.address);
      // Only contacts who stay see who else is on the key: a removed or new address learns nothing of the others.
      const change =
        removed || added
          ? {}
          : {
              contacts: p.contacts,
              addedContacts: p.contacts.filter((c) => !p.previousContacts.includes(c)),
              removedContacts: p.previousContacts.filter((c) => !p.contacts.includes(c)),
            };
      return { ...common, expiresAt: at(p.expiresAt), removed, added, ...change };
    }
  }
}

/** A one-time code email's context: the opened code, and its expiry in the user's zone. */
export function loginCodeContext(message: OneTimeCodeRequested, code: string) {
  const closure = message.type === 'AccountClosureCodeRequested';
  return {
    code,
    email: message.email,
    recipientReason: closure
      ? `someone signed in to the keyward account ${message.email} asked to close it`
      : `someone asked to sign in to keyward as ${message.email}`,
    sentBy: closure
      ? `Sent because closing this account was asked for in keyward's Settings.`
      : `Sent because this address was entered on keyward's sign-in page.`,
    expiresAt: formatInZone(message.expiresAt, message.timeZone),
    minutesLeft: Math.max(1, Math.round((Date.parse(message.expiresAt) - Date.parse(message.occurredAt)) / 60_000)),
  };
}
