import {
  buildKeyEvent,
  KEY_CONTACTS_CHANGED,
  KEY_CREATED,
  KEY_EXPIRED,
  KEY_EXPIRING,
  KEY_LEAKED,
  KEY_REVOKED,
  KEY_ROTATED,
  KeyExpiringPayload,
  KeyLeakedPayload,
  KeyRevokedPayload,
  LeakAction,
  Owner,
  RevocationCause,
} from '@keyward/contracts';
import { onceEventId, ownerOf } from './key-event-fields';

/** What an event says of the key it is about, as the key was read. */
export interface KeyFacts {
  owner: Owner;
  label: string;
  lastFive: string;
  contacts: string[];
  expiresAt: Date;
}

/** `{requestedFrom}` of the user's request that made the change (requestOrigin()), if one did. */
type Origin = { requestedFrom?: string };

/** A new key's KeyCreated (a rotation's replacement has none: its KeyRotated announces it). */
export function keyCreated(keyId: string, key: KeyFacts, now: Date, origin: Origin) {
  return buildKeyEvent(KEY_CREATED, {
    keyId,
    owner: ownerOf(key),
    occurredAt: now,
    payload: {
      label: key.label,
      lastFive: key.lastFive,
      contacts: [...key.contacts],
      createdAt: now.toISOString(),
      expiresAt: key.expiresAt.toISOString(),
      ...origin,
    },
  });
}

export function keyContactsChanged(keyId: string, key: KeyFacts, contacts: string[], now: Date, origin: Origin) {
  return buildKeyEvent(KEY_CONTACTS_CHANGED, {
    keyId,
    owner: ownerOf(key),
    occurredAt: now,
    payload: {
      label: key.label,
      lastFive: key.lastFive,
      previousContacts: [...key.contacts],
      contacts,
      expiresAt: key.expiresAt.toISOString(),
      ...origin,
    },
  });
}

/** What a rotation did: cut the old key to `oldKeyExpiresAt` and issued `replacement` as `newKeyId`. */
export interface Rotation {
  oldKeyExpiresAt: Date;
  newKeyId: string;
  replacement: KeyFacts;
}

/** The old key's KeyRotated, which commits the rotation and announces its replacement. */
export function keyRotated(keyId: string, old: KeyFacts, rotation: Rotation, now: Date, origin: Origin) {
  return buildKeyEvent(KEY_ROTATED, {
    keyId,
    owner: ownerOf(old),
    occurredAt: now,
    payload: {
      label: old.label,
      lastFive: old.lastFive,
      contacts: [...old.contacts],
      oldKeyExpiresAt: rotation.oldKeyExpiresAt.toISOString(),
      newKeyId: rotation.newKeyId,
      newLabel: rotation.replacement.label,
      newLastFive: rotation.replacement.lastFive,
      newExpiresAt: rotation.replacement.expiresAt.toISOString(),
      ...origin,
    },
  });
}

/** Why a key was revoked, as its KeyRevoked says it. */
export type Revocation = { cause: RevocationCause } & Pick<KeyRevokedPayload, 'accountClosed'>;

/** A key's KeyRevoked. A key is revoked once, so its revocation has one id: racing revocations reach consumers once. */
export function keyRevoked(keyId: string, key: KeyFacts, revocation: Revocation, now: Date, origin: Origin = {}) {
  return {
    ...buildKeyEvent(KEY_REVOKED, {
      keyId,
      owner: ownerOf(key),
      occurredAt: now,
      payload: {
        label: key.label,
        lastFive: key.lastFive,
        contacts: [...key.contacts],
        revokedAt: now.toISOString(),
        ...revocation,
        ...origin,
      },
    }),
    eventId: onceEventId(keyId, KEY_REVOKED, key.expiresAt),
  };
}

/** Where a leaked key was found, and by whom. */
export type LeakReport = Pick<KeyLeakedPayload, 'url' | 'source' | 'reporter'>;

/** A key's KeyLeaked, once per key (its id says so: see onceEventId). */
export function keyLeaked(keyId: string, key: KeyFacts, report: LeakReport, action: LeakAction, now: Date) {
  return {
    ...buildKeyEvent(KEY_LEAKED, {
      keyId,
      owner: ownerOf(key),
      occurredAt: now,
      payload: {
        label: key.label,
        lastFive: key.lastFive,
        contacts: [...key.contacts],
        url: report.url,
        source: report.source,
        reporter: report.reporter,
        reportedAt: now.toISOString(),
        action,
      },
    }),
    eventId: onceEventId(keyId, KEY_LEAKED, key.expiresAt),
  };
}

/** What a reminder says of its key: the contacts as they are now, so a change after one reminder reaches the next. */
const reminderSummary = (key: KeyFacts) => ({
  label: key.label,
  lastFive: key.lastFive,
  contacts: [...key.contacts],
  expiresAt: key.expiresAt.toISOString(),
});

/** A reminder stage's KeyExpiring, once per stage of the key. */
export function keyExpiring(
  keyId: string,
  key: KeyFacts,
  stage: Pick<KeyExpiringPayload, 'stageDays' | 'daysLeft' | 'finalReminder'>,
  asOf: Date,
) {
  return {
    ...buildKeyEvent(KEY_EXPIRING, {
      keyId,
      owner: ownerOf(key),
      occurredAt: asOf,
      payload: {
        ...reminderSummary(key),
        stageDays: stage.stageDays,
        daysLeft: stage.daysLeft,
        finalReminder: stage.finalReminder,
      },
    }),
    eventId: onceEventId(keyId, `${KEY_EXPIRING}:${stage.stageDays}`, key.expiresAt),
  };
}

/** A key's KeyExpired, once per key. */
export function keyExpired(keyId: string, key: KeyFacts, asOf: Date) {
  return {
    ...buildKeyEvent(KEY_EXPIRED, { keyId, owner: ownerOf(key), occurredAt: asOf, payload: reminderSummary(key) }),
    eventId: onceEventId(keyId, KEY_EXPIRED, key.expiresAt),
  };
}
