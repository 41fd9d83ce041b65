import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ExecutionContext } from '@nestjs/common';
import { RateLimited, throttlers } from './rate-limits';

class Routes {
  @RateLimited('login-email-client', 'login-email')
  login(): void {}
  @RateLimited('key-changes')
  create(): void {}
  @RateLimited('key-changes')
  revoke(): void {}
  @RateLimited('account-export-session', 'account-export')
  export(): void {}
  list(): void {}
}

const contextOf = (handler: keyof Routes) =>
  ({ getHandler: () => Routes.prototype[handler], getClass: () => Routes }) as unknown as ExecutionContext;
const limits = throttlers(30);
const limit = (name: string) => limits.find((t) => t.name === name)!;

describe('rate limits', () => {
  it('applies to a route only the limits it names', () => {
    const applied = (handler: keyof Routes) => limits.filter((t) => !t.skipIf!(contextOf(handler))).map((t) => t.name);
    assert.deepEqual(applied('login'), ['login-email-client', 'login-email']);
    assert.deepEqual(applied('create'), ['key-changes']);
    assert.deepEqual(applied('list'), []);
  });

  it('counts a subject once per limit whichever route reaches it, without storing the subject', () => {
    const { generateKey } = limit('key-changes');
    const key = generateKey!(contextOf('create'), 'user-1', 'key-changes');
    assert.equal(generateKey!(contextOf('revoke'), 'user-1', 'key-changes'), key);
    assert.notEqual(generateKey!(contextOf('create'), 'user-2', 'key-changes'), key);
    assert.notEqual(limit('login-email').generateKey!(contextOf('login'), 'user-1', 'login-email'), key);
    assert.ok(!key.includes('user-1'));
  });

  it('counts login guesses by the address as validation normalises it, and by client', async () => {
    const request = { ip: '203.0.113.9', body: { email: '  Alice@Example.COM ' } };
    assert.equal(await limit('login-email').getTracker!(request, contextOf('login')), 'alice@example.com');
    assert.equal(
      await limit('login-email-client').getTracker!(request, contextOf('login')),
      'alice@example.com 203.0.113.9',
    );
    assert.equal(await limit('key-changes').getTracker!({ ip: 'x', user: { id: 'u-7' } }, contextOf('create')), 'u-7');
    assert.equal(limit('key-changes').limit, 30);
  });

  it('counts what sessions spend per session first, then against the account ceiling of three sessions', async () => {
    const names = limits.map((t) => t.name);
    for (const budget of ['account-export', 'account-closure-code', 'account-closure', 'account-changes'] as const) {
      const [session, account] = [limit(`${budget}-session`), limit(budget)];
      // Checked in this order, so a request the session is refused does not spend the ceiling.
      assert.ok(names.indexOf(session.name) < names.indexOf(account.name), budget);
      assert.equal(account.limit, 3 * (session.limit as number), budget);
      assert.equal(session.ttl, account.ttl, budget);
    }
    const request = { ip: 'x', user: { id: 'u-7' }, sessionKey: 'stored-key-1' };
    assert.equal(await limit('account-export-session').getTracker!(request, contextOf('export')), 'stored-key-1');
    assert.equal(await limit('account-export').getTracker!(request, contextOf('export')), 'u-7');
    assert.equal(limit('key-changes').getTracker, limit('account-export').getTracker, 'key changes stay per account');
    assert.match(limit('account-export').message, /sessions together have .* 15 times/);
  });
});
