import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRedriveOptions } from './redrive-options';

describe('deliveries:redrive options', () => {
  it('reads every filter', () => {
    const { filter, dryRun } = parseRedriveOptions([
      '--event',
      '0b7e8f4e-8d2a-4b1c-9f3e-2a6d5c4b3a21',
      '--recipient',
      'ops@example.com',
      '--since',
      '2026-11-28T00:00:00Z',
      '--until',
      '2026-11-29T00:00:00+08:00',
      '--dry-run',
    ]);
    assert.deepEqual(filter, {
      eventId: '0b7e8f4e-8d2a-4b1c-9f3e-2a6d5c4b3a21',
      recipient: 'ops@example.com',
      since: new Date('2026-11-28T00:00:00Z'),
      until: new Date('2026-11-28T16:00:00Z'),
    });
    assert.equal(dryRun, true);
  });

  it('re-drives every failed delivery only when told so in as many words', () => {
    assert.throws(() => parseRedriveOptions([]), /--all-failed/);
    assert.deepEqual(parseRedriveOptions(['--all-failed']).filter, {
      eventId: undefined,
      recipient: undefined,
      since: undefined,
      until: undefined,
    });
  });

  it('names a bad option', () => {
    assert.throws(() => parseRedriveOptions(['--event', 'nope']), /--event: expected an eventId/);
    assert.throws(() => parseRedriveOptions(['--since', 'yesterday']), /Invalid datetime/);
    assert.throws(
      () => parseRedriveOptions(['--since', '2026-11-29T00:00:00Z', '--until', '2026-11-28T00:00:00Z']),
      /before --until/,
    );
    assert.throws(() => parseRedriveOptions(['--evnt', 'x']), /Unknown option '--evnt'/);
  });
});
