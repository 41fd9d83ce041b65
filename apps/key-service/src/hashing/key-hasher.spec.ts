import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { Types } from 'mongoose';
import { KeyServiceSettings } from '../config/key-service.env';
import { generateKey } from '../keys/key-format';
import { KeyHasher } from './key-hasher';

const hasherWith = (secret: string) => new KeyHasher({ KEY_HASH_SECRET: secret } as KeyServiceSettings);

describe('key hasher', () => {
  const hasher = hasherWith('s'.repeat(32));
  const key = generateKey('alice');

  it('derives a key’s document id from the key: the same key, the same id, a valid ObjectId', () => {
    assert.equal(hasher.idOf(key), hasher.idOf(key));
    assert.match(hasher.idOf(key), /^[0-9a-f]{24}$/);
    assert.equal(new Types.ObjectId(hasher.idOf(key)).toHexString(), hasher.idOf(key));
  });

  it('gives other keys other ids, and the id depends on the secret', () => {
    const ids = new Set(Array.from({ length: 1000 }, () => hasher.idOf(generateKey('alice'))));
    assert.equal(ids.size, 1000);
    assert.notEqual(hasherWith('t'.repeat(32)).idOf(key), hasher.idOf(key));
  });

  it('keeps the id apart from the stored hash: neither is a part of the other', () => {
    const hashHex = Buffer.from(hasher.hash(key), 'base64url').toString('hex');
    assert.equal(hashHex.includes(hasher.idOf(key)), false);
  });

  it('is HMAC-SHA256 under the secret, as createHmac computes it, for secrets up to and over a block', () => {
    for (const secret of ['s', 's'.repeat(32), 'é'.repeat(32), 's'.repeat(64), 's'.repeat(65), 's'.repeat(200)]) {
      const hasherOf = hasherWith(secret);
      for (const text of [
        key,
        generateKey('bob'),
        '',
        'ключ_v1_ünïcode',
        'x'.repeat(300),
        'é'.repeat(341),
        'é'.repeat(342),
        '😀'.repeat(400),
      ]) {
        assert.equal(hasherOf.hash(text), createHmac('sha256', secret).update(text).digest('base64url'), secret);
        assert.equal(
          hasherOf.idOf(text),
          createHmac('sha256', secret).update(`key-id:${text}`).digest('hex').slice(0, 24),
          secret,
        );
      }
      // A short text after a longer one: each call hashes only its own text.
      hasherOf.hash('x'.repeat(300));
      assert.equal(hasherOf.hash('ab'), createHmac('sha256', secret).update('ab').digest('base64url'));
    }
  });
});
