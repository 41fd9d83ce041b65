import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateKey, hasValidChecksum, lastFiveOf, usernameFromEmail } from './key-format';

describe('key format', () => {
  it('derives the username from the login email local part, letters and digits only, lowercased', () => {
    assert.equal(usernameFromEmail('Alice.Tan+ops@Example.gov.sg'), 'alicetanops');
    assert.equal(usernameFromEmail('john_doe-99@x.io'), 'johndoe99');
    assert.equal(usernameFromEmail('...@x.io'), 'user');
  });

  it('generates <username>_v1_<36 base62 chars> with a valid checksum', () => {
    const key = generateKey('alicetan');
    assert.match(key, /^alicetan_v1_[0-9A-Za-z]{36}$/);
    assert.ok(hasValidChecksum(key));
  });

  it('never repeats a key', () => {
    const keys = new Set(Array.from({ length: 2000 }, () => generateKey('u')));
    assert.equal(keys.size, 2000);
  });

  it('rejects a key whose characters were altered, without any lookup', () => {
    const key = generateKey('bob');
    const i = 'bob_v1_'.length + 3;
    const flipped = key.slice(0, i) + (key[i] === 'a' ? 'b' : 'a') + key.slice(i + 1);
    assert.equal(hasValidChecksum(flipped), false);
    assert.equal(hasValidChecksum(key.slice(0, -1)), false);
    assert.equal(hasValidChecksum('bob_v2_' + key.slice('bob_v1_'.length)), false);
    assert.equal(hasValidChecksum('not a key'), false);
  });

  it('keeps the last five characters for display', () => {
    assert.equal(lastFiveOf('abc_v1_0123456789'), '56789');
  });
});
