import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  activityText,
  dateTime,
  errorsByField,
  expiryOf,
  proposedZone,
  zoneLabel,
  type ActivityEntryView,
} from './format.js';

const now = new Date('2026-11-27T02:00:00Z');
const inDays = (days: number) => new Date(now.getTime() + days * 86_400_000).toISOString();

describe('how the Settings page shows expiry', () => {
  it('counts whole days left and leaves a key with more than 30 unmarked', () => {
    assert.deepEqual(expiryOf(inDays(182), now), { mark: 'none', text: '182 days left' });
    assert.deepEqual(expiryOf(inDays(30.5), now), { mark: 'none', text: '30 days left' });
  });

  it('marks a key expiring within 30 days', () => {
    assert.deepEqual(expiryOf(inDays(30), now), { mark: 'soon', text: '30 days left' });
    assert.deepEqual(expiryOf(inDays(1), now), { mark: 'soon', text: '1 day left' });
    assert.deepEqual(expiryOf(inDays(0.2), now), { mark: 'soon', text: 'Less than a day left' });
  });

  it('marks an expired key, from the very moment of expiry', () => {
    assert.deepEqual(expiryOf(now.toISOString(), now), { mark: 'expired', text: 'Expired today' });
    assert.deepEqual(expiryOf(inDays(-1), now), { mark: 'expired', text: 'Expired 1 day ago' });
    assert.deepEqual(expiryOf('2024-04-21T00:00:00.000Z', now), { mark: 'expired', text: 'Expired 950 days ago' });
  });
});

describe('dates on the Settings page', () => {
  it('shows times in the owner time zone with the offset written out', () => {
    assert.equal(dateTime('2024-04-21T00:00:00.000Z', 'Asia/Singapore'), '21 Apr 2024, 08:00 GMT+8');
    assert.equal(dateTime('2027-05-27T02:00:00.000Z', 'Europe/London'), '27 May 2027, 03:00 GMT+1');
  });

  it('shows the day in the owner time zone, which may be the next one', () => {
    assert.equal(dateTime('2026-11-27T20:00:00.000Z', 'Asia/Singapore'), '28 Nov 2026, 04:00 GMT+8');
    // ICU writes a zero offset "GMT+0" in some versions, "GMT" in others.
    assert.match(dateTime('2026-11-27T20:00:00.000Z', 'UTC'), /^27 Nov 2026, 20:00 GMT(\+0)?$/);
  });
});

describe('choosing a time zone', () => {
  it('labels a zone with its offset at that moment', () => {
    assert.equal(zoneLabel('America/New_York', new Date('2026-11-27T00:00:00Z')), 'America/New York (GMT-5)');
    assert.equal(zoneLabel('America/New_York', new Date('2027-05-27T00:00:00Z')), 'America/New York (GMT-4)');
    assert.equal(zoneLabel('Asia/Kolkata', now), 'Asia/Kolkata (GMT+5:30)');
  });

  it('proposes the browser’s zone only to an account that never chose one, when it differs', () => {
    const fresh = { timeZone: 'Asia/Singapore', timeZoneChosen: false };
    assert.equal(proposedZone(fresh, 'Europe/London'), 'Europe/London');
    assert.equal(proposedZone(fresh, 'Asia/Singapore'), null);
    assert.equal(proposedZone(fresh, undefined), null);
    assert.equal(proposedZone({ ...fresh, timeZoneChosen: true }, 'Europe/London'), null);
  });
});

describe('API errors next to their fields', () => {
  const fields = ['label', 'contacts', '_form'];

  it('puts each field error under its field, entries of a list under the list', () => {
    const byField = errorsByField(
      [
        { field: 'label', message: 'label must be 1 to 64 characters' },
        { field: 'contacts', message: 'contacts must hold at least one email address' },
        { field: 'contacts.1', message: 'not an email' },
      ],
      fields,
      '_form',
    );
    assert.deepEqual(Object.fromEntries(byField), {
      label: ['label must be 1 to 64 characters'],
      contacts: ['contacts must hold at least one email address', 'not an email'],
    });
  });

  it('sends errors about fields the form does not show to the fallback', () => {
    const byField = errorsByField([{ field: 'graceHours', message: 'too long' }], fields, '_form');
    assert.deepEqual(Object.fromEntries(byField), { _form: ['too long'] });
  });
});

describe('activity on the Settings page', () => {
  const entry = (action: ActivityEntryView['action'], details: Record<string, unknown>): ActivityEntryView => ({
    id: 'e-1',
    keyId: 'k-1',
    label: 'prod',
    lastFive: 'Xk3p9',
    at: '2027-01-10T09:30:00.000Z',
    action,
    actor: 'user',
    actorName: 'alice@example.com',
    from: '203.0.113.9',
    details,
  });

  it('says in a sentence what each action did to which key', () => {
    assert.equal(activityText(entry('created', { contacts: ['a@x.io'] })), 'Created “prod” (…Xk3p9), contacts a@x.io');
    assert.equal(
      activityText(entry('created', { contacts: ['a@x.io'], replaces: 'k-0' })),
      'Created “prod” (…Xk3p9) by rotation, contacts a@x.io',
    );
    assert.equal(
      activityText(entry('contacts_changed', { added: ['b@x.io'], removed: ['a@x.io', 'c@x.io'] })),
      'Changed the contacts of “prod” (…Xk3p9): added b@x.io; removed a@x.io, c@x.io',
    );
    assert.equal(
      activityText(entry('rotated', { newLabel: 'prod 2' })),
      'Rotated “prod” (…Xk3p9): replaced by “prod 2”',
    );
    assert.equal(activityText(entry('revoked', { cause: 'owner' })), 'Revoked “prod” (…Xk3p9)');
    assert.equal(activityText(entry('revoked', { cause: 'leak' })), 'Revoked “prod” (…Xk3p9) because it leaked');
    assert.equal(activityText(entry('expired', {})), '“prod” (…Xk3p9) expired');
    assert.equal(
      activityText(entry('reminder_sent', { daysLeft: 1, to: ['a@x.io'] })),
      'Reminded a@x.io that “prod” (…Xk3p9) expires in 1 day',
    );
    assert.equal(
      activityText(entry('leak_reported', { url: 'https://github.com/a/b', source: 'commit', response: 'revoked' })),
      'Reported leaked at https://github.com/a/b (commit); revoked at once',
    );
    assert.equal(
      activityText(entry('verification_failed', { revoked: 3, expired: 0 })),
      'Refused 3 uses of “prod” (…Xk3p9) this hour (3 revoked)',
    );
    assert.equal(
      activityText(entry('leak_reported', { url: null, source: null, response: 'notified' })),
      'Reported leaked; notify only: still working',
    );
  });
});
