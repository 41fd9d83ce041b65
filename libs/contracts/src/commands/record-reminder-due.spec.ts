import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildRecordReminderDue, InvalidMessageError, parseRecordReminderDue } from '../index';

describe('RecordReminderDue command', () => {
  const asOf = new Date('2027-04-27T08:00:00.000Z');

  it('round-trips through the validator', () => {
    const command = buildRecordReminderDue({ keyId: 'k1', asOf });
    assert.deepEqual(parseRecordReminderDue(Buffer.from(JSON.stringify(command))), command);
    assert.equal(command.asOf, asOf.toISOString());
  });

  it('gives every command its own id', () => {
    assert.notEqual(
      buildRecordReminderDue({ keyId: 'k1', asOf }).commandId,
      buildRecordReminderDue({ keyId: 'k1', asOf }).commandId,
    );
  });

  it('refuses to build a command without a key id', () => {
    assert.throws(() => buildRecordReminderDue({ keyId: '', asOf }), InvalidMessageError);
  });

  const valid = () => buildRecordReminderDue({ keyId: 'k1', asOf });
  for (const [name, raw, reason] of [
    ['unparseable bytes', '{oops', /not JSON/],
    ['a missing as-of time', JSON.stringify({ ...valid(), asOf: undefined }), /asOf/],
    ['an as-of that is not a time', JSON.stringify({ ...valid(), asOf: 'tomorrow' }), /asOf/],
    ['another type', JSON.stringify({ ...valid(), type: 'RecordExpiry' }), /type/],
    ['an unknown version', JSON.stringify({ ...valid(), version: 2 }), /version/],
    ['an extra field', JSON.stringify({ ...valid(), stageDays: 7 }), /stageDays|unrecognized/i],
  ] as const) {
    it(`rejects ${name} with a readable reason`, () => {
      assert.throws(
        () => parseRecordReminderDue(raw),
        (e: unknown) => e instanceof InvalidMessageError && reason.test(e.reason),
      );
    });
  }

  it('rejects an empty message', () => {
    assert.throws(() => parseRecordReminderDue(null), InvalidMessageError);
  });
});
