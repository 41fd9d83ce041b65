import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  buildKeyEvent,
  KEY_CONTACTS_CHANGED,
  KEY_EXPIRED,
  KEY_EXPIRING,
  KEY_LEAKED,
  KEY_REVOKED,
  KEY_ROTATED,
} from '@keyward/contracts';
import { activitiesOf } from './activity-projection';

const activityOf = (event: Parameters<typeof activitiesOf>[0]) => activitiesOf(event)[0];

const owner = { userId: 'u-1', email: 'alice@example.com', timeZone: 'Asia/Singapore' };
const key = { label: 'production', lastFive: 'Xk3p9', contacts: ['ops@example.com'] };
const at = new Date('2027-01-10T09:30:00Z');
const event = <T extends Parameters<typeof buildKeyEvent>[0]>(
  type: T,
  payload: Parameters<typeof buildKeyEvent<T>>[1]['payload'],
) => buildKeyEvent(type, { keyId: 'k-1', owner, occurredAt: at, payload });

describe('activity projection', () => {
  it('records who did what to which key, keyed by the event id', () => {
    const changed = event(KEY_CONTACTS_CHANGED, {
      ...key,
      previousContacts: ['ops@example.com', 'old@example.com'],
      contacts: ['ops@example.com', 'new@example.com'],
      expiresAt: '2027-05-27T02:00:00.000Z',
      requestedFrom: '203.0.113.9',
    });
    assert.deepEqual(activityOf(changed), {
      _id: changed.eventId,
      ownerId: 'u-1',
      keyId: 'k-1',
      at,
      label: 'production',
      lastFive: 'Xk3p9',
      actor: 'user',
      actorName: 'alice@example.com',
      from: '203.0.113.9',
      action: 'contacts_changed',
      details: { added: ['new@example.com'], removed: ['old@example.com'] },
    });
  });

  it('names the scheduler for reminders and expiries, and a scanner for leaks', () => {
    const reminder = activityOf(
      event(KEY_EXPIRING, {
        ...key,
        contacts: [],
        expiresAt: '2027-01-17T09:30:00.000Z',
        stageDays: 7,
        daysLeft: 7,
        finalReminder: false,
      }),
    );
    assert.deepEqual(
      [reminder.action, reminder.actor, reminder.details],
      ['reminder_sent', 'scheduler', { daysLeft: 7, to: ['alice@example.com'] }],
    );
    assert.equal(activityOf(event(KEY_EXPIRED, { ...key, expiresAt: at.toISOString() })).actor, 'scheduler');
    const leak = activityOf(
      event(KEY_LEAKED, {
        ...key,
        url: 'https://github.com/a/b',
        source: 'commit',
        reporter: 'GitHub secret scanning',
        reportedAt: at.toISOString(),
        action: 'revoked',
      }),
    );
    assert.deepEqual(
      [leak.action, leak.actor, leak.actorName, leak.details],
      [
        'leak_reported',
        'scanner',
        'GitHub secret scanning',
        { url: 'https://github.com/a/b', source: 'commit', response: 'revoked' },
      ],
    );
    const byLeak = activityOf(event(KEY_REVOKED, { ...key, revokedAt: at.toISOString(), cause: 'leak' }));
    assert.deepEqual([byLeak.actor, byLeak.details], ['scanner', { cause: 'leak' }]);
    const byOwner = activityOf(event(KEY_REVOKED, { ...key, revokedAt: at.toISOString() }));
    assert.deepEqual(
      [byOwner.actor, byOwner.from, byOwner.details],
      ['user', null, { cause: 'owner' }],
      'events written before causes and addresses',
    );
    const rotation = event(KEY_ROTATED, {
      ...key,
      oldKeyExpiresAt: at.toISOString(),
      newKeyId: 'k-2',
      newLabel: 'production (2027-01-10)',
      newLastFive: 'Qm7Tz',
      newExpiresAt: '2027-07-10T09:30:00.000Z',
      requestedFrom: '203.0.113.9',
    });
    const [rotated, replacement] = activitiesOf(rotation);
    assert.deepEqual(rotated.details, {
      newKeyId: 'k-2',
      newLabel: 'production (2027-01-10)',
      oldKeyExpiresAt: at.toISOString(),
    });
    // The rotation is the only event about its new key: that key's timeline starts with it.
    assert.deepEqual(replacement, {
      _id: `${rotation.eventId}:replacement`,
      ownerId: 'u-1',
      keyId: 'k-2',
      at,
      label: 'production (2027-01-10)',
      lastFive: 'Qm7Tz',
      actor: 'user',
      actorName: 'alice@example.com',
      from: '203.0.113.9',
      action: 'created',
      details: { contacts: ['ops@example.com'], replaces: 'k-1' },
    });
  });

  it('records nothing for a revocation by closing the account (its activity goes with it)', () => {
    const revokedAt = at.toISOString();
    assert.deepEqual(activitiesOf(event(KEY_REVOKED, { ...key, revokedAt, cause: 'owner', accountClosed: true })), []);
    assert.equal(activitiesOf(event(KEY_REVOKED, { ...key, revokedAt, cause: 'owner' })).length, 1);
  });
});
