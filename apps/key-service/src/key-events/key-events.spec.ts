import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseKeyEvent } from '@keyward/contracts';
import { keyCreated, keyExpiring, keyLeaked, keyRevoked } from './key-events';

const key = {
  owner: { userId: 'u-1', email: 'owner@example.com', timeZone: 'Europe/Berlin' },
  label: 'ci',
  lastFive: 'abcde',
  contacts: ['ops@example.com'],
  expiresAt: new Date('2027-05-01T00:00:00Z'),
};
const now = new Date('2026-11-29T12:00:00Z');
const report = { url: 'https://example.com/paste', source: 'paste', reporter: 'GitHub secret scanning' };

describe('key events', () => {
  it('gives every revocation of one key the same id, whatever its cause', () => {
    const byOwner = keyRevoked('k-1', key, { cause: 'owner' }, now, { requestedFrom: '203.0.113.7' });
    const onClosure = keyRevoked('k-1', key, { cause: 'owner', accountClosed: true }, new Date(now.getTime() + 1));
    const onLeak = keyRevoked('k-1', key, { cause: 'leak' }, now);
    assert.equal(byOwner.eventId, onClosure.eventId);
    assert.equal(byOwner.eventId, onLeak.eventId);
    assert.notEqual(byOwner.eventId, keyRevoked('k-2', key, { cause: 'owner' }, now).eventId);
    assert.notEqual(byOwner.eventId, keyLeaked('k-1', key, report, 'revoked', now).eventId);
  });

  it("says how a key was revoked and from where the owner's request came, and nothing else", () => {
    assert.deepEqual(keyRevoked('k-1', key, { cause: 'owner', accountClosed: true }, now).payload, {
      label: 'ci',
      lastFive: 'abcde',
      contacts: ['ops@example.com'],
      revokedAt: now.toISOString(),
      cause: 'owner',
      accountClosed: true,
    });
    const byOwner = keyRevoked('k-1', key, { cause: 'owner' }, now, { requestedFrom: '203.0.113.7' });
    assert.equal(byOwner.payload.requestedFrom, '203.0.113.7');
    assert.equal(byOwner.payload.accountClosed, undefined);
  });

  it('builds events that pass the contract as consumers parse them', () => {
    const created = keyCreated('k-1', key, now, {});
    assert.deepEqual(parseKeyEvent(JSON.stringify(created)), created);
    const leaked = keyLeaked('k-1', key, report, 'notified', now);
    assert.deepEqual(parseKeyEvent(JSON.stringify(leaked)), leaked);
  });

  it('carries only the stage of a reminder, one id per stage', () => {
    const due = { kind: 'expiring', stageDays: 7, daysLeft: 6, finalReminder: false, nextReminderAt: now };
    const expiring = keyExpiring('k-1', key, due, now);
    assert.deepEqual(Object.keys(expiring.payload).sort(), [
      'contacts',
      'daysLeft',
      'expiresAt',
      'finalReminder',
      'label',
      'lastFive',
      'stageDays',
    ]);
    assert.notEqual(expiring.eventId, keyExpiring('k-1', key, { ...due, stageDays: 3 }, now).eventId);
  });
});
