import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normalizeContacts, sameContacts } from './contacts';

describe('contacts', () => {
  it('are trimmed, lowercased and deduplicated, keeping first-seen order', () => {
    assert.deepEqual(normalizeContacts([' Ops@Example.com', 'dev@example.com', 'ops@example.COM ']), [
      'ops@example.com',
      'dev@example.com',
    ]);
  });

  it('compare as sets: order does not matter, membership does', () => {
    assert.ok(sameContacts(['a@x.io', 'b@x.io'], ['b@x.io', 'a@x.io']));
    assert.ok(sameContacts([], []));
    assert.ok(!sameContacts(['a@x.io'], ['a@x.io', 'b@x.io']));
    assert.ok(!sameContacts(['a@x.io', 'b@x.io'], ['a@x.io', 'c@x.io']));
    assert.ok(!sameContacts(['a@x.io', 'a@x.io'], ['a@x.io', 'b@x.io']), 'duplicates do not hide a difference');
  });
});
