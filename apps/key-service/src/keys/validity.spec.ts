import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addMonths } from './validity';

describe('key validity', () => {
  it('adds calendar months keeping the time of day', () => {
    assert.equal(addMonths(new Date('2026-01-15T10:30:00Z'), 6).toISOString(), '2026-07-15T10:30:00.000Z');
  });

  it('clamps to the end of a shorter month', () => {
    assert.equal(addMonths(new Date('2026-08-31T00:00:00Z'), 6).toISOString(), '2027-02-28T00:00:00.000Z');
    assert.equal(addMonths(new Date('2026-03-31T12:00:00Z'), 6).toISOString(), '2026-09-30T12:00:00.000Z');
  });

  it('lands on 29 February in a leap year', () => {
    assert.equal(addMonths(new Date('2027-08-31T00:00:00Z'), 6).toISOString(), '2028-02-29T00:00:00.000Z');
    assert.equal(addMonths(new Date('2028-02-29T00:00:00Z'), 12).toISOString(), '2029-02-28T00:00:00.000Z');
  });

  it('crosses year boundaries', () => {
    assert.equal(addMonths(new Date('2026-11-27T08:00:00Z'), 6).toISOString(), '2027-05-27T08:00:00.000Z');
  });
});
