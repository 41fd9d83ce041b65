import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildKeyEvent, InvalidMessageError, KEY_CREATED, parseKeyEvent } from './index';

const owner = { userId: 'u1', email: 'alice@example.com', timeZone: 'Asia/Singapore' };
const payload = {
  label: 'prod',
  lastFive: 'abcde',
  contacts: ['ops@example.com'],
  createdAt: '2026-11-27T00:00:00.000Z',
  expiresAt: '2027-05-27T00:00:00.000Z',
};

describe('key event contracts', () => {
  it('round-trips a built event through the validator', () => {
    const event = buildKeyEvent(KEY_CREATED, { keyId: 'k1', owner, payload });
    const parsed = parseKeyEvent(Buffer.from(JSON.stringify(event)));
    assert.deepEqual(parsed, event);
  });

  it('refuses to build an event with an invalid payload', () => {
    assert.throws(
      () => buildKeyEvent(KEY_CREATED, { keyId: 'k1', owner, payload: { ...payload, contacts: ['nope'] } }),
      InvalidMessageError,
    );
  });

  for (const [name, raw, reason] of [
    ['unparseable bytes', '{not json', /not JSON/],
    ['an unknown type', JSON.stringify({ type: 'KeyExploded' }), /type/],
    [
      'an unknown version',
      JSON.stringify({ ...buildKeyEvent(KEY_CREATED, { keyId: 'k', owner, payload }), version: 2 }),
      /version/,
    ],
    [
      'a missing field',
      JSON.stringify({ ...buildKeyEvent(KEY_CREATED, { keyId: 'k', owner, payload }), keyId: undefined }),
      /keyId/,
    ],
    [
      'an extra field such as a key',
      JSON.stringify({ ...buildKeyEvent(KEY_CREATED, { keyId: 'k', owner, payload }), key: 'x' }),
      /key/,
    ],
  ] as const) {
    it(`rejects ${name} with a readable reason`, () => {
      assert.throws(
        () => parseKeyEvent(raw),
        (e: unknown) => e instanceof InvalidMessageError && reason.test(e.reason),
      );
    });
  }

  it('rejects an empty message', () => {
    assert.throws(() => parseKeyEvent(null), InvalidMessageError);
  });
});
