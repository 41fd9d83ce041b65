import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { usernameFromEmail } from './username';

describe('username', () => {
  it('derives the username from the login email local part, letters and digits only, lowercased', () => {
    assert.equal(usernameFromEmail('Alice.Tan+ops@Example.gov.sg'), 'alicetanops');
    assert.equal(usernameFromEmail('john_doe-99@x.io'), 'johndoe99');
    assert.equal(usernameFromEmail('...@x.io'), 'user');
  });
});
