import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isNotAKey, keyChecksum } from './key-format';

const key = (body = 'bob_v1_abcdefghijABCDEFGHIJ0123456789') => body + keyChecksum(body);

describe('key format', () => {
  it('accepts a v1 key whose checksum matches', () => {
    assert.equal(isNotAKey(key()), false);
  });

  it('rejects a v1 key whose characters were altered, without any lookup', () => {
    const good = key();
    const i = 'bob_v1_'.length + 3;
    assert.equal(isNotAKey(good.slice(0, i) + 'Z' + good.slice(i + 1)), true);
    assert.equal(isNotAKey(good.slice(0, -6) + 'ZZZZZZ'), true);
  });

  it('rejects text too short for any key', () => {
    for (const text of ['', 'not a key', 'x'.repeat(15)]) assert.equal(isNotAKey(text), true, text);
  });

  it('leaves anything without the v1 shape to a lookup: a legacy key has no checksum', () => {
    const good = key();
    for (const text of ['legacy_Zm9vYmFyYmF6cXV4', good.slice(0, -1), `${good}x`, 'bob_v2_' + good.slice(7)])
      assert.equal(isNotAKey(text), false, text);
  });
});
