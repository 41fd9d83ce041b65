import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  buildAccountClosureCodeRequested,
  buildLoginCodeRequested,
  InvalidMessageError,
  openLoginCode,
  parseLoginCodeRequested,
  parseOneTimeCodeRequested,
} from './index';

const secret = 'a-sealing-key-of-at-least-thirty-two-chars';
const build = (code = '042917', email = 'a@example.com') =>
  buildLoginCodeRequested({
    email,
    timeZone: 'Asia/Singapore',
    expiresAt: new Date('2026-11-27T10:00:00Z'),
    code,
    secret,
  });

describe('login code contract', () => {
  it('carries the code sealed, never in clear, and opens with the shared key', () => {
    const wire = JSON.stringify(build());
    assert.ok(!wire.includes('042917'), 'the code is not readable on the wire');
    const parsed = parseLoginCodeRequested(Buffer.from(wire));
    assert.equal(parsed.version, 2);
    assert.equal(openLoginCode(parsed, secret), '042917');
  });

  it('seals the same code differently every time', () => {
    assert.notEqual(build('111111').sealedCode, build('111111').sealedCode);
  });

  it('refuses to open with another key or after tampering', () => {
    const message = build('123456');
    assert.throws(() => openLoginCode(message, secret + 'x'), /sealed under key .* does not hold/);
    const [id, body] = message.sealedCode.split('.');
    const bytes = Buffer.from(body, 'base64url');
    bytes[14] ^= 1;
    assert.throws(
      () => openLoginCode({ ...message, sealedCode: `${id}.${bytes.toString('base64url')}` }, secret),
      InvalidMessageError,
    );
  });

  it('refuses a code moved to another recipient, another event or a later expiry', () => {
    const message = build('123456', 'victim@example.com');
    for (const moved of [
      { ...message, email: 'attacker@example.com' },
      { ...message, eventId: build().eventId },
      { ...message, expiresAt: '2027-01-01T00:00:00.000Z' },
    ])
      assert.throws(() => openLoginCode(moved, secret), /sealed for another message/);
  });

  it('rejects a message with the code in clear, missing fields, or in the unbound version 1', () => {
    assert.throws(
      () => parseLoginCodeRequested(JSON.stringify({ type: 'LoginCodeRequested', version: 2, code: '123456' })),
      InvalidMessageError,
    );
    assert.throws(
      () => parseLoginCodeRequested(JSON.stringify({ ...build(), version: 1 })),
      /version: only version 2 \(the code bound to its recipient\) is accepted/,
    );
  });

  it('tells a closure code from a login code, and neither opens as the other', () => {
    const fields = { email: 'a@example.com', timeZone: 'UTC', expiresAt: new Date('2026-11-27T10:00:00Z'), secret };
    const closure = buildAccountClosureCodeRequested({ ...fields, code: '654321' });
    const parsed = parseOneTimeCodeRequested(JSON.stringify(closure));
    assert.equal(parsed.type, 'AccountClosureCodeRequested');
    assert.equal(openLoginCode(parsed, secret), '654321');
    assert.equal(parseOneTimeCodeRequested(JSON.stringify(build())).type, 'LoginCodeRequested');
    // The same sealed code relabelled as the other type does not open.
    const asLogin = { ...closure, type: 'LoginCodeRequested' as const, version: 2 as const };
    assert.throws(() => openLoginCode(asLogin, secret), /sealed for another message/);
    assert.throws(() => parseLoginCodeRequested(JSON.stringify(closure)), InvalidMessageError);
  });
});
