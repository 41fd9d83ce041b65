import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HttpException } from './nest-http';
import { answerableError, problemOf, TooManyRequestsException } from './problem-details';

/** What answerableError logged. */
class Lines {
  readonly errors: { err: unknown; errorId: string }[] = [];
  readonly warnings: string[] = [];
  error(fields: { err: unknown; errorId: string }): void {
    this.errors.push(fields);
  }
  warn(message: string): void {
    this.warnings.push(message);
  }
}

describe('problem details', () => {
  it('answers an HttpException as it is, with Retry-After when it names a wait, and logs nothing', () => {
    const lines = new Lines();
    const problem = problemOf(answerableError(new TooManyRequestsException(42), lines));
    assert.equal(problem.status, 429);
    assert.equal(problem.retryAfter, '42');
    assert.deepEqual(problem.body, {
      type: 'about:blank',
      title: 'Too Many Requests',
      status: 429,
      detail: 'Too many attempts; try again in 42 seconds',
    });
    assert.deepEqual([lines.errors, lines.warnings], [[], []]);
    assert.equal(problemOf(new HttpException('gone', 404)).body.detail, 'gone');
  });

  it('answers an unreachable database 503 with Retry-After, with a warning', () => {
    const lines = new Lines();
    const unreachable = Object.assign(new Error('connect ECONNREFUSED'), { name: 'MongoNetworkError' });
    const problem = problemOf(answerableError(unreachable, lines));
    assert.equal(problem.status, 503);
    assert.equal(problem.retryAfter, '5');
    assert.deepEqual(lines.warnings, ['503: connect ECONNREFUSED']);
    assert.equal(lines.errors.length, 0);
  });

  it('answers anything else 500 with only the id its error is logged under', () => {
    const lines = new Lines();
    const bug = new TypeError('secret internals');
    const problem = problemOf(answerableError(bug, lines));
    assert.equal(problem.status, 500);
    assert.equal(lines.errors.length, 1);
    const [{ err, errorId }] = lines.errors;
    assert.equal(err, bug);
    assert.equal(problem.body.errorId, errorId);
    assert.match(problem.body.detail, new RegExp(`quote error id ${errorId}`));
    assert.doesNotMatch(JSON.stringify(problem), /secret internals/);
  });
});
