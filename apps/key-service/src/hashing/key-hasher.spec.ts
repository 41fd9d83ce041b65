import assert from 'node:assert/strict';
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
});
