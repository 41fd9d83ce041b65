import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isNotAKey } from '@keyward/contracts';
import { generateKey, lastFiveOf } from './key-format';

describe('key format', () => {
  it('generates <username>_v1_<36 base62 chars> with a valid checksum', () => {
    const key = generateKey('alicetan');
    assert.match(key, /^alicetan_v1_[0-9A-Za-z]{36}$/);
    assert.equal(isNotAKey(key), false, 'its checksum matches');
  });

  it('draws every random character uniformly from all 62, at every position', () => {
    // 2000 keys × 30 random characters (then 6 of checksum): each character expected about 968
    // times overall and 32 times at each position. A generator skipping characters or positions, or biased (e.g. a byte modulo
    // 62 favours the first 8 characters by 25%), fails; a uniform one fails about once in 10⁷ runs.
    const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
    const randomParts = Array.from({ length: 2000 }, () => generateKey('u').slice('u_v1_'.length, -6));
    const counts = new Map<string, number>();
    for (let position = 0; position < 30; position++) {
      const seen = new Set(randomParts.map((r) => r[position]));
      assert.equal(seen.size, 62, `position ${position} uses ${seen.size} of 62 characters`);
    }
    for (const c of randomParts.join('')) counts.set(c, (counts.get(c) ?? 0) + 1);
    assert.deepEqual([...counts.keys()].sort(), [...alphabet].sort());
    const expected = (2000 * 30) / 62;
    const chiSquare = [...counts.values()].reduce((sum, n) => sum + (n - expected) ** 2 / expected, 0);
    // 61 degrees of freedom: mean 61, and above 140 with probability about 10⁻⁷.
    assert.ok(chiSquare < 140, `characters are not uniform (chi-square ${chiSquare.toFixed(1)})`);
  });

  it('keeps the last five characters for display', () => {
    assert.equal(lastFiveOf('abc_v1_0123456789'), '56789');
  });
});
