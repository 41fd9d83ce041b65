import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NotFoundException } from '@nestjs/common';
import { KeyIdPipe } from './key-id.pipe';

describe('key id from the path', () => {
  const pipe = new KeyIdPipe();

  it('passes the canonical spelling', () => {
    assert.equal(pipe.transform('65f0c0ffee0123456789abcd'), '65f0c0ffee0123456789abcd');
  });

  it('answers 404 for any other spelling, without echoing it', () => {
    for (const id of ['65F0C0FFEE0123456789ABCD', '65f0c0ffee0123456789abc', 'abcdefghijkl', '<script>'])
      assert.throws(
        () => pipe.transform(id),
        (error: unknown) => error instanceof NotFoundException && !error.message.includes(id),
        id,
      );
  });
});
