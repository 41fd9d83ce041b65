/** How keys, dates and API errors read on the Settings page. Pure: no DOM, unit-tested. */

export type KeyStatus = 'active' | 'revoked' | 'expired';

export interface KeyView {
  id: string;
  label: string;
  lastFive: string;
  contacts: string[];
  createdAt: string;
  expiresAt: string;
  status: KeyStatus;
  lastUsedAt: string | null;
  /** The id of the key that replaced this one by rotation. */
  replacedBy: string | null;
  /** When the key is reported leaked: revoke it at once, or notify only. */
  leakResponse: LeakResponse;
  /** When the key was first reported leaked. */
  leakReportedAt: string | null;
}

export type LeakResponse = 'revoke' | 'notify';

export interface FieldError {
  field: string;
  message: string;
}

/** Keys that expire within this many days are marked. */
export const EXPIRING_SOON_DAYS = 30;
const DAY_MS = 24 * 60 * 60 * 1000;

export type ExpiryMark = 'none' | 'soon' | 'expired';

export interface Expiry {
  mark: ExpiryMark;
  /** "182 days left", "Less than a day left", "Expired 3 days ago". */
  text: string;
}

export function expiryOf(expiresAt: string, now: Date): Expiry {
  const ms = Date.parse(expiresAt) - now.getTime();
  if (ms <= 0) {
    const days = Math.floor(-ms / DAY_MS);
    return { mark: 'expired', text: days === 0 ? 'Expired today' : `Expired ${count(days, 'day')} ago` };
  }
  const days = Math.floor(ms / DAY_MS);
  return {
    mark: ms <= EXPIRING_SOON_DAYS * DAY_MS ? 'soon' : 'none',
    text: days === 0 ? 'Less than a day left' : `${count(days, 'day')} left`,
  };
}

/** "27 May 2027, 16:00 GMT+8": in the owner's time zone, with the offset written out. */
export function dateTime(iso: string, timeZone: string): string {
  return new Intl.DateTimeFormat('en-GB', {
    day: 'numeric',
    month: 'short',
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
    timeZone,
    timeZoneName: 'shortOffset',
  }).format(new Date(iso));
}

/** "Europe/London (GMT+1)": a zone as a person picks it, with its offset at `at`. */
export function zoneLabel(timeZone: string, at: Date): string {
  const offset = new Intl.DateTimeFormat('en-GB', { timeZone, timeZoneName: 'shortOffset' })
    .formatToParts(at)
    .find((part) => part.type === 'timeZoneName')?.value;
  return `${timeZone.replace(/_/g, ' ')} (${offset ?? timeZone})`;
}

/**
 * The zone to propose to an account that never chose one: the browser's, when it knows one and
 * it differs from the account's; otherwise null (nothing to ask).
 */
export function proposedZone(
  account: { timeZone: string; timeZoneChosen: boolean },
  browserZone: string | undefined,
): string | null {
  return !account.timeZoneChosen && browserZone && browserZone !== account.timeZone ? browserZone : null;
}

/** One entry of the activity timeline, as GET /v1/activity answers it. */
export interface ActivityEntryView {
  id: string;
  keyId: string;
  label: string;
  lastFive: string;
  at: string;
  action:
    | 'created'
    | 'contacts_changed'
    | 'rotated'
    | 'revoked'
    | 'expired'
    | 'reminder_sent'
    | 'leak_reported'
    | 'verification_failed';
  actor: 'user' | 'scheduler' | 'scanner' | 'service';
  actorName: string;
  /** The client address of a user's request. */
  from: string | null;
  details: Record<string, unknown>;
}

const list = (value: unknown) => (Array.isArray(value) ? value.map(String) : []);

/** What an activity entry says happened, in a sentence (who did it and when are shown beside it). */
export function activityText(entry: ActivityEntryView): string {
  const key = `“${entry.label}” (…${entry.lastFive})`;
  const d = entry.details;
  switch (entry.action) {
    case 'created':
      return `Created ${key}${d.replaces ? ' by rotation' : ''}, contacts ${list(d.contacts).join(', ') || 'none'}`;
    case 'contacts_changed': {
      const changes = [
        ...(list(d.added).length ? [`added ${list(d.added).join(', ')}`] : []),
        ...(list(d.removed).length ? [`removed ${list(d.removed).join(', ')}`] : []),
      ];
      return `Changed the contacts of ${key}: ${changes.join('; ') || 'same addresses'}`;
    }
    case 'rotated':
      return `Rotated ${key}: replaced by “${String(d.newLabel)}”`;
    case 'revoked':
      return d.cause === 'leak' ? `Revoked ${key} because it leaked` : `Revoked ${key}`;
    case 'expired':
      return `${key} expired`;
    case 'reminder_sent':
      return `Reminded ${list(d.to).join(', ')} that ${key} expires in ${count(Number(d.daysLeft), 'day')}`;
    case 'leak_reported': {
      const where = typeof d.url === 'string' ? ` at ${d.url}` : '';
      const source = typeof d.source === 'string' ? ` (${d.source})` : '';
      const done = d.response === 'revoked' ? 'revoked at once' : 'notify only: still working';
      return `Reported leaked${where}${source}; ${done}`;
    }
    case 'verification_failed': {
      const [revoked, expired] = [Number(d.revoked ?? 0), Number(d.expired ?? 0)];
      const reasons = [...(revoked ? [`${revoked} revoked`] : []), ...(expired ? [`${expired} expired`] : [])];
      return `Refused ${count(revoked + expired, 'use')} of ${key} this hour (${reasons.join(', ')})`;
    }
  }
}

export const STATUS_TEXT: Record<KeyStatus, string> = { active: 'Active', revoked: 'Revoked', expired: 'Expired' };

/**
 * Which field of a form each API error belongs to. Field errors name their field (`contacts`,
 * or `contacts.2` for one entry); a field the form does not show, or an error without one,
 * goes to `fallback`: the field a form's other failures concern (the code on the login form),
 * or the form as a whole.
 */
export function errorsByField(
  errors: FieldError[],
  fields: readonly string[],
  fallback: string,
): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const { field, message } of errors) {
    const root = field.split('.')[0];
    const target = fields.includes(root) ? root : fallback;
    out.set(target, [...(out.get(target) ?? []), message]);
  }
  return out;
}

function count(n: number, unit: string): string {
  return `${n} ${unit}${n === 1 ? '' : 's'}`;
}
