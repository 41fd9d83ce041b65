import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidFieldsException, parseBody } from '@keyward/platform';
import { verifyKeyBody } from './verify-key.request';

describe('verify request body', () => {
  it('gives the key', () => {
    assert.deepEqual(parseBody(verifyKeyBody, { key: 'alice_v1_abc' }), { key: 'alice_v1_abc' });
  });

  for (const [name, body, field, message] of [
    ['no body', undefined, 'key', /key is required/],
    ['no key', {}, 'key', /key is required/],
    ['a key that is not text', { key: 7 }, 'key', /key must be text/],
    ['a key too long to be one', { key: 'x'.repeat(257) }, 'key', /at most 256/],
    ['an unknown field', { key: 'k', other: 1 }, 'other', /other is not accepted/],
  ] as const) {
    it(`refuses ${name} with a 400 naming the field`, () => {
      assert.throws(
        () => parseBody(verifyKeyBody, body),
        (error: unknown) =>
          error instanceof InvalidFieldsException &&
          error.getStatus() === 400 &&
          error.errors.length === 1 &&
          error.errors[0].field === field &&
          message.test(error.errors[0].message),
      );
    });
  }
});
