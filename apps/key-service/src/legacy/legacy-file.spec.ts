import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LegacyFileError, parseLegacyFile } from './legacy-file';

const SECRET_LOOKING = 'legacy-secret-key-0123456789';
const HASH = 'A'.repeat(43);

describe('legacy key file', () => {
  it('reads owners with a key or a key hash, normalising emails and contacts', () => {
    const entries = parseLegacyFile(
      JSON.stringify([
        { email: ' Alice@Example.com ', key: SECRET_LOOKING, contacts: ['Ops@Example.com', 'ops@example.com '] },
        { email: 'bob@example.com', keyHash: HASH },
      ]),
    );
    assert.deepEqual(entries, [
      { email: 'alice@example.com', key: SECRET_LOOKING, contacts: ['ops@example.com'] },
      { email: 'bob@example.com', keyHash: HASH, contacts: [] },
    ]);
  });

  it('accepts an empty list', () => {
    assert.deepEqual(parseLegacyFile('[]'), []);
  });

  for (const [name, content, reason] of [
    ['not JSON', `[{"email": "a@x.io", "key": "${SECRET_LOOKING}"`, /not valid JSON/],
    ['not a list', '{"email": "a@x.io"}', /expected array/i],
    ['neither key nor hash', [{ email: 'a@x.io' }], /0\.key: give the key or its keyHash/],
    [
      'a bad email',
      [
        { email: 'a@x.io', keyHash: HASH },
        { email: 'nope', keyHash: HASH },
      ],
      /1\.email: must be a valid/,
    ],
    ['a short key', [{ email: 'a@x.io', key: 'short' }], /0\.key: must be at least 16/],
    ['a malformed hash', [{ email: 'a@x.io', keyHash: 'abc' }], /0\.keyHash: must be the base64url/],
    [
      'a bad contact',
      [{ email: 'a@x.io', keyHash: HASH, contacts: ['x'] }],
      /0\.contacts\.0: must be a valid email address/,
    ],
    ['an unknown field', [{ email: 'a@x.io', keyHash: HASH, label: 'prod' }], /Unrecognized key.*label/],
  ] as const) {
    it(`rejects the whole file for ${name}, naming the entry and field`, () => {
      const text = typeof content === 'string' ? content : JSON.stringify(content);
      assert.throws(
        () => parseLegacyFile(text),
        (e: unknown) => e instanceof LegacyFileError && reason.test(e.message),
      );
    });
  }

  it('never repeats a rejected key in its message', () => {
    const key = 'sk_live_' + 'q'.repeat(600);
    for (const text of [`[{"email":"a@x.io","key":"${key}"`, JSON.stringify([{ email: 'a@x.io', key }])]) {
      assert.throws(
        () => parseLegacyFile(text),
        (e: unknown) => e instanceof LegacyFileError && !e.message.includes('qqqq'),
      );
    }
  });
});
