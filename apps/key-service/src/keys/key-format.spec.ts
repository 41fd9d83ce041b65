import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isNotAKey } from '@keyward/contracts';
import { generateKey, lastFiveOf, usernameFromEmail } from './key-format';

describe('key format', () => {
  it('derives the username from the login email local part, letters and digits only, lowercased', () => {
    assert.equal(usernameFromEmail('Alice.Tan+ops@Example.gov.sg'), 'alicetanops');
    assert.equal(usernameFromEmail('john_doe-99@x.io'), 'johndoe99');
    assert.equal(usernameFromEmail('...@x.io'), 'user');
  });

  it('generates <username>_v1_<36 base62 chars> with a valid checksum', () => {
    const key = generateKey('alicetan');
    assert.match(key, /^alicetan_v1_[0-9A-Za-z]{36}$/);
    assert.equal(isNotAKey(key), false, 'its checksum matches');
  });

  it('never repeats a key', () => {
    const keys = new Set(Array.from({ length: 2000 }, () => generateKey('u')));
    assert.equal(keys.size, 2000);
  });

  it('keeps the last five characters for display', () => {
    assert.equal(lastFiveOf('abc_v1_0123456789'), '56789');
  });
});
