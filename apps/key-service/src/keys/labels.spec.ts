import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LABEL_MAX_LENGTH } from '@keyward/contracts';
import { freeRotationLabel, labelKeyOf, localDate, rotationLabel } from './labels';

const SGT = 'Asia/Singapore';

describe('key labels', () => {
  it('are unique per account regardless of case', () => {
    assert.equal(labelKeyOf('Prod API'), labelKeyOf('prod api'));
    assert.notEqual(labelKeyOf('prod'), labelKeyOf('prod '));
  });
});

describe('rotation label naming', () => {
  it('appends the rotation date in the owner time zone', () => {
    // 20:00 UTC on 26 November is already 27 November in Singapore (GMT+8) but not in New York.
    const at = new Date('2026-11-26T20:00:00Z');
    assert.equal(rotationLabel('prod', at, SGT), 'prod (2026-11-27)');
    assert.equal(rotationLabel('prod', at, 'America/New_York'), 'prod (2026-11-26)');
    assert.equal(localDate(at, SGT), '2026-11-27');
  });

  it('numbers later candidates from 2', () => {
    const at = new Date('2026-11-27T02:00:00Z');
    assert.equal(rotationLabel('prod', at, SGT, 2), 'prod (2026-11-27) 2');
    assert.equal(rotationLabel('prod', at, SGT, 11), 'prod (2026-11-27) 11');
  });

  it('replaces the date an earlier rotation added instead of stacking dates', () => {
    const at = new Date('2027-05-01T02:00:00Z');
    assert.equal(rotationLabel('prod (2026-11-27)', at, SGT), 'prod (2027-05-01)');
    assert.equal(rotationLabel('prod (2026-11-27) 3', at, SGT), 'prod (2027-05-01)');
    assert.equal(rotationLabel('release (v2)', at, SGT), 'release (v2) (2027-05-01)', 'only a date suffix is replaced');
  });

  it('shortens a long old label so the result fits, never splitting a character', () => {
    const at = new Date('2026-11-27T02:00:00Z');
    const long = 'x'.repeat(LABEL_MAX_LENGTH);
    const label = rotationLabel(long, at, SGT, 12);
    assert.equal(label.length, LABEL_MAX_LENGTH);
    assert.ok(label.endsWith(' (2026-11-27) 12'));

    const emoji = '🔑'.repeat(40); // 80 UTF-16 units
    const fitted = rotationLabel(emoji, at, SGT);
    assert.ok(fitted.length <= LABEL_MAX_LENGTH);
    assert.doesNotMatch(fitted, /[\uD800-\uDBFF](?![\uDC00-\uDFFF])/, 'no lone surrogate');
    assert.ok(fitted.startsWith('🔑') && fitted.endsWith('🔑 (2026-11-27)'));
  });

  it('picks the first label not taken on the account, comparing without case', () => {
    const at = new Date('2026-11-27T02:00:00Z');
    assert.equal(freeRotationLabel('prod', at, SGT, new Set()), 'prod (2026-11-27)');
    assert.equal(freeRotationLabel('prod', at, SGT, new Set(['prod', 'prod (2026-11-27)'])), 'prod (2026-11-27) 2');
    assert.equal(
      freeRotationLabel('Prod', at, SGT, new Set(['prod (2026-11-27)', 'prod (2026-11-27) 2'])),
      'Prod (2026-11-27) 3',
    );
  });
});
