import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { untilFound } from './until';

describe('untilFound', () => {
  it('returns the first answer that is not undefined, asking no more after it', async () => {
    const answers = [undefined, undefined, 'third', 'fourth'];
    let asked = 0;
    const found = await untilFound('the third answer', () => answers[asked++], 1_000, 1);
    assert.equal(found, 'third');
    assert.equal(asked, 3);
  });

  it('keeps a falsy answer: only undefined means not yet', async () => {
    assert.equal(await untilFound('zero', () => 0, 1_000), 0);
  });

  it('fails after the deadline, naming what it waited for', async () => {
    await assert.rejects(
      untilFound('a value that never comes', () => undefined, 50, 10),
      {
        message: 'a value that never comes: not within 50 ms',
      },
    );
  });
});
