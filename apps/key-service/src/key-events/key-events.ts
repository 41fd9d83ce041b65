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

/** The envelope fields of an event about `key`. */
const about = (keyId: string, key: KeyFacts, occurredAt: Date) => ({ keyId, owner: ownerOf(key), occurredAt });

/** How an event names the key to its people, and who they are. */
const named = (key: KeyFacts) => ({ label: key.label, lastFive: key.lastFive, contacts: [...key.contacts] });

/** An event that happens once in the key's life, with the id that says so (see onceEventId). */
const once = <E>(event: E, keyId: string, what: string, key: KeyFacts) => ({
  ...event,
  eventId: onceEventId(keyId, what, key.expiresAt),
});

/** A new key's KeyCreated (a rotation's replacement has none: its KeyRotated announces it). */
export function keyCreated(keyId: string, key: KeyFacts, now: Date, origin: Origin) {
  return buildKeyEvent(KEY_CREATED, {
    ...about(keyId, key, now),
    payload: { ...named(key), createdAt: now.toISOString(), expiresAt: key.expiresAt.toISOString(), ...origin },
  });
}

export function keyContactsChanged(keyId: string, key: KeyFacts, contacts: string[], now: Date, origin: Origin) {
  return buildKeyEvent(KEY_CONTACTS_CHANGED, {
    ...about(keyId, key, now),
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
    ...about(keyId, old, now),
    payload: {
      ...named(old),
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

/** A key's KeyRevoked: a key is revoked once, so racing revocations reach consumers as one event. */
export function keyRevoked(keyId: string, key: KeyFacts, revocation: Revocation, now: Date, origin: Origin = {}) {
  const revoked = buildKeyEvent(KEY_REVOKED, {
    ...about(keyId, key, now),
    payload: { ...named(key), revokedAt: now.toISOString(), ...revocation, ...origin },
  });
  return once(revoked, keyId, KEY_REVOKED, key);
}

/** Where a leaked key was found, and by whom. */
export type LeakReport = Pick<KeyLeakedPayload, 'url' | 'source' | 'reporter'>;

/** A key's KeyLeaked, once per key. */
export function keyLeaked(keyId: string, key: KeyFacts, report: LeakReport, action: LeakAction, now: Date) {
  const leaked = buildKeyEvent(KEY_LEAKED, {
    ...about(keyId, key, now),
    payload: {
      ...named(key),
      url: report.url,
      source: report.source,
      reporter: report.reporter,
      reportedAt: now.toISOString(),
      action,
    },
  });
  return once(leaked, keyId, KEY_LEAKED, key);
}

/** A reminder names the contacts as they are now, so a change after one reminder reaches the next. */
const reminded = (key: KeyFacts) => ({ ...named(key), expiresAt: key.expiresAt.toISOString() });

/** A reminder stage's KeyExpiring, once per stage of the key. */
export function keyExpiring(
  keyId: string,
  key: KeyFacts,
  stage: Pick<KeyExpiringPayload, 'stageDays' | 'daysLeft' | 'finalReminder'>,
  asOf: Date,
) {
  const expiring = buildKeyEvent(KEY_EXPIRING, {
    ...about(keyId, key, asOf),
    payload: {
      ...reminded(key),
      stageDays: stage.stageDays,
      daysLeft: stage.daysLeft,
      finalReminder: stage.finalReminder,
    },
  });
  return once(expiring, keyId, `${KEY_EXPIRING}:${stage.stageDays}`, key);
}

/** A key's KeyExpired, once per key. */
export function keyExpired(keyId: string, key: KeyFacts, asOf: Date) {
  return once(
    buildKeyEvent(KEY_EXPIRED, { ...about(keyId, key, asOf), payload: reminded(key) }),
    keyId,
    KEY_EXPIRED,
    key,
  );
}
