import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KeyServiceSettings } from '../config/key-service.env';
import { ServiceTokens } from './service-tokens';
import { callerOf } from './token-set';

const tokens = ['a'.repeat(32), 'b'.repeat(40)];
const serviceTokens = new ServiceTokens({ VERIFY_SERVICE_TOKENS: tokens } as unknown as KeyServiceSettings);

describe('service tokens', () => {
  it('accepts any configured token', () => {
    for (const token of tokens) assert.equal(serviceTokens.accepts(token), true);
  });

  it('names each accepted token’s caller, by a short digest that differs per token', () => {
    const callers = tokens.map((token) => serviceTokens.callerOf(token));
    assert.deepEqual(callers, tokens.map(callerOf));
    assert.match(callers[0]!, /^[\w-]{16}$/);
    assert.notEqual(callers[0], callers[1]);
  });

  for (const [name, header] of [
    ['no header', undefined],
    ['an empty header', ''],
    ['a wrong token', 'c'.repeat(32)],
    ['a prefix of a token', 'a'.repeat(31)],
    ['a token with a character more', `${'a'.repeat(32)}a`],
    ['a repeated header', [tokens[0], tokens[0]]],
  ] as const) {
    it(`refuses ${name}`, () => {
      assert.equal(serviceTokens.accepts(header), false);
      assert.equal(serviceTokens.callerOf(header), undefined);
    });
  }
});
