import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TooManyRequestsException } from '@keyward/platform';
import { FailureBudget } from './failure-budget';

const retryAfterOf = (spend: () => void): number => {
  try {
    spend();
  } catch (e) {
    assert.ok(e instanceof TooManyRequestsException && e.getStatus() === 429);
    return (e.getResponse() as { retryAfterSeconds: number }).retryAfterSeconds;
  }
  return assert.fail('expected 429');
};

describe('failed-verification budget', () => {
  it('answers 429 with Retry-After for failures past the limit, per caller, until the window turns', () => {
    let now = 60_000 * 100 + 15_000;
    const budget = new FailureBudget(3, 60_000, () => now);
    for (let i = 0; i < 3; i++) budget.spend('billing');
    assert.equal(
      retryAfterOf(() => budget.spend('billing')),
      45,
    );
    budget.spend('mailer'); // another caller is unaffected
    now += 45_000;
    budget.spend('billing'); // a new window
  });

  it('tells each caller’s failures of the current window, those counted elsewhere included', () => {
    let now = 60_000 * 100 + 15_000;
    const budget = new FailureBudget(3, 60_000, () => now);
    budget.spend('billing');
    budget.count('billing', 2);
    budget.count('mailer');
    assert.deepEqual(budget.spentNow(), [
      ['billing', 3],
      ['mailer', 1],
    ]);
    assert.throws(() => budget.spend('billing'), TooManyRequestsException);
    now += 45_000;
    budget.count('mailer');
    assert.deepEqual(budget.spentNow(), [['mailer', 1]], 'a new window: billing’s failures are past');
  });
});
