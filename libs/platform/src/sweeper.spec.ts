import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { Logger } from '@nestjs/common';
import { SweepSchedule, Sweeper } from './sweeper';

/** Counts its passes; fails those it is told to. */
class CountingSweeper extends Sweeper {
  passes = 0;
  failing = false;

  constructor(schedule: SweepSchedule) {
    super(schedule);
  }

  protected pass(): Promise<void> {
    this.passes++;
    return this.failing ? Promise.reject(new Error('database away')) : Promise.resolve();
  }
}

describe('Sweeper', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setInterval'] }));
  afterEach(() => mock.timers.reset());

  it('passes every everyMs until shutdown, and at start only when asked', () => {
    const hourly = new CountingSweeper({ everyMs: 1000, atStart: false });
    const alsoAtStart = new CountingSweeper({ everyMs: 1000, atStart: true });
    hourly.onApplicationBootstrap();
    alsoAtStart.onApplicationBootstrap();
    assert.deepEqual([hourly.passes, alsoAtStart.passes], [0, 1]);

    mock.timers.tick(2000);
    assert.deepEqual([hourly.passes, alsoAtStart.passes], [2, 3]);

    hourly.onApplicationShutdown();
    alsoAtStart.onApplicationShutdown();
    mock.timers.tick(5000);
    assert.deepEqual([hourly.passes, alsoAtStart.passes], [2, 3]);
  });

  it('logs a failed pass under its own name and keeps going', async () => {
    const warn = mock.method(Logger.prototype, 'warn', () => undefined);
    try {
      const sweeper = new CountingSweeper({ everyMs: 1000, atStart: false });
      sweeper.failing = true;
      await sweeper.sweep();
      sweeper.failing = false;
      await sweeper.sweep();
      assert.equal(sweeper.passes, 2);
      assert.equal(warn.mock.callCount(), 1);
      assert.match(String(warn.mock.calls[0].arguments[0]), /sweep failed, retrying next time: database away/);
      assert.equal((warn.mock.calls[0].this as unknown as { context: string }).context, 'CountingSweeper');
    } finally {
      warn.mock.restore();
    }
  });
});
