import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ExecutionContext, UnauthorizedException } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ServiceTokenGuard } from './service-token.guard';

const tokens = ['a'.repeat(32), 'b'.repeat(40)];
const guard = new ServiceTokenGuard(new ConfigService({ VERIFY_SERVICE_TOKENS: tokens }));
const withHeaders = (headers: Record<string, unknown>) =>
  ({ switchToHttp: () => ({ getRequest: () => ({ headers }) }) }) as unknown as ExecutionContext;

describe('service token guard', () => {
  it('lets in any configured token', () => {
    for (const token of tokens) assert.equal(guard.canActivate(withHeaders({ 'x-service-token': token })), true);
  });

  for (const [name, headers] of [
    ['no header', {}],
    ['an empty header', { 'x-service-token': '' }],
    ['a wrong token', { 'x-service-token': 'c'.repeat(32) }],
    ['a prefix of a token', { 'x-service-token': 'a'.repeat(31) }],
    ['a repeated header', { 'x-service-token': [tokens[0], tokens[0]] }],
  ] as const) {
    it(`refuses ${name} with 401`, () => {
      assert.throws(() => guard.canActivate(withHeaders(headers)), UnauthorizedException);
    });
  }
});
