import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_UPDATES_PER_COMMAND, writeInBatches } from './write-batches';

describe('write batches', () => {
  it('writes every item once, in order, in commands of at most MAX_UPDATES_PER_COMMAND', async () => {
    const items = Array.from({ length: MAX_UPDATES_PER_COMMAND * 2 + 7 }, (_, i) => i);
    const commands: number[][] = [];
    await writeInBatches(items, async (batch) => commands.push(batch));
    assert.deepEqual(
      commands.map((c) => c.length),
      [MAX_UPDATES_PER_COMMAND, MAX_UPDATES_PER_COMMAND, 7],
    );
    assert.deepEqual(commands.flat(), items);
  });

  it('sends no command for nothing, and stops at the first failed one', async () => {
    let calls = 0;
    await writeInBatches([], async () => calls++);
    assert.equal(calls, 0);
    const items = Array.from({ length: MAX_UPDATES_PER_COMMAND * 3 }, (_, i) => i);
    await assert.rejects(
      writeInBatches(items, async () => {
        if (++calls === 2) throw new Error('down');
      }),
      /down/,
    );
    assert.equal(calls, 2);
  });
});
