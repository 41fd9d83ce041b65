import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TooManyRequestsException } from '@keyward/platform';
import { FailureBudget } from './failure-budget';

describe('failed-verification budget', () => {
  it('answers 429 with Retry-After once a caller used its failures, per caller, until the window turns', () => {
    let now = 60_000 * 100 + 15_000;
    const budget = new FailureBudget(3, 60_000, () => now);
    for (let i = 0; i < 3; i++) {
      budget.check('billing');
      budget.recordFailure('billing');
    }
    assert.throws(
      () => budget.check('billing'),
      (e: unknown) => e instanceof TooManyRequestsException && e.getStatus() === 429,
    );
    const retryAfter = ((): unknown => {
      try {
        budget.check('billing');
      } catch (e) {
        return ((e as TooManyRequestsException).getResponse() as { retryAfterSeconds: number }).retryAfterSeconds;
      }
    })();
    assert.equal(retryAfter, 45);
    budget.check('mailer'); // another caller is unaffected
    now += 45_000;
    budget.check('billing'); // a new window
  });
});
