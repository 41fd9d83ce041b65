import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildLoginCodeRequested, InvalidMessageError, openLoginCode, parseLoginCodeRequested } from './index';

const secret = 'a-sealing-key-of-at-least-thirty-two-chars';

describe('login code contract', () => {
  it('carries the code sealed, never in clear, and opens with the shared key', () => {
    const event = buildLoginCodeRequested({
      email: 'a@example.com',
      timeZone: 'Asia/Singapore',
      expiresAt: new Date('2026-11-27T10:00:00Z'),
      code: '042917',
      secret,
    });
    const wire = JSON.stringify(event);
    assert.ok(!wire.includes('042917'), 'the code is not readable on the wire');
    const parsed = parseLoginCodeRequested(Buffer.from(wire));
    assert.equal(openLoginCode(parsed.sealedCode, secret), '042917');
  });

  it('seals the same code differently every time', () => {
    const build = () =>
      buildLoginCodeRequested({
        email: 'a@example.com',
        timeZone: 'UTC',
        expiresAt: new Date(),
        code: '111111',
        secret,
      });
    assert.notEqual(build().sealedCode, build().sealedCode);
  });

  it('refuses to open with another key or after tampering', () => {
    const { sealedCode } = buildLoginCodeRequested({
      email: 'a@example.com',
      timeZone: 'UTC',
      expiresAt: new Date(),
      code: '123456',
      secret,
    });
    assert.throws(() => openLoginCode(sealedCode, secret + 'x'), InvalidMessageError);
    const bytes = Buffer.from(sealedCode, 'base64url');
    bytes[14] ^= 1;
    assert.throws(() => openLoginCode(bytes.toString('base64url'), secret), InvalidMessageError);
  });

  it('rejects a message with the code in clear or missing fields', () => {
    assert.throws(
      () => parseLoginCodeRequested(JSON.stringify({ type: 'LoginCodeRequested', version: 1, code: '123456' })),
      InvalidMessageError,
    );
  });
});
