import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalKeyId, emailAddress, keyLabel, LABEL_MAX_LENGTH, timeZoneName } from './fields';

const accepts = (schema: { safeParse(v: unknown): { success: boolean } }, value: unknown) =>
  schema.safeParse(value).success;

describe('key labels', () => {
  it('take any printable text, trimmed', () => {
    for (const label of ['Prod – 東京 (eu-1) 🚀', 'Ünïcødé label', 'a\u00a0b', "O'Brien & co."])
      assert.ok(accepts(keyLabel, label), label);
    assert.equal(keyLabel.parse('  prod  '), 'prod');
  });

  it('refuse control, line-break, bidi and zero-width characters', () => {
    for (const [name, label] of [
      ['line feed', 'a\nb'],
      ['tab', 'tab\there'],
      ['NUL', 'nul\u0000'],
      ['DEL', 'del\u007f'],
      ['C1 control', 'a\u0085b'],
      ['right-to-left override', 'invoice\u202Efdp.exe'],
      ['right-to-left isolate', 'a\u2067b\u2069'],
      ['right-to-left mark', 'a\u200fb'],
      ['Arabic letter mark', 'a\u061cb'],
      ['zero-width space', 'pro\u200bd'],
      ['zero-width joiner', 'pro\u200dd'],
      ['byte-order mark', 'pro\ufeffd'],
      ['soft hyphen', 'pro\u00add'],
      ['line separator', 'a\u2028b'],
      ['paragraph separator', 'a\u2029b'],
      ['lone surrogate', 'a\ud800b'],
    ])
      assert.ok(!accepts(keyLabel, label), name);
  });

  it(`hold 1 to ${LABEL_MAX_LENGTH} characters`, () => {
    assert.ok(!accepts(keyLabel, '   '));
    assert.ok(accepts(keyLabel, 'x'.repeat(LABEL_MAX_LENGTH)));
    assert.ok(!accepts(keyLabel, 'x'.repeat(LABEL_MAX_LENGTH + 1)));
    // Counted as the OpenAPI document's maxLength counts: code points (an emoji is one, two UTF-16 units).
    assert.ok(accepts(keyLabel, '😀'.repeat(LABEL_MAX_LENGTH)), 'as many emoji as characters allowed');
    assert.ok(!accepts(keyLabel, '😀'.repeat(LABEL_MAX_LENGTH + 1)));
  });
});

describe('email addresses', () => {
  it('accept ordinary addresses', () => {
    for (const address of ['ops@example.com', 'first.last+tag@mail.example.co.uk', "o'neil@example.io"])
      assert.ok(accepts(emailAddress, address), address);
  });

  it('refuse what cannot be addressed plainly, wherever they come from', () => {
    for (const address of ['ops#1@x.com', 'ü@x.com', 'a@localhost', 'not-an-email', `${'a'.repeat(250)}@x.com`])
      assert.ok(!accepts(emailAddress, address), address);
  });
});

describe('key ids', () => {
  it('have one spelling: 24 lower-case hex digits', () => {
    assert.ok(accepts(canonicalKeyId, '65f0c0ffee0123456789abcd'));
    for (const id of [
      '65F0C0FFEE0123456789ABCD',
      '65f0c0ffee0123456789abc',
      '65f0c0ffee0123456789abcde',
      'abcdefghijkl',
    ])
      assert.ok(!accepts(canonicalKeyId, id), id);
  });
});

describe('time zone names', () => {
  it('take IANA names the runtime knows, aliases and any case included', () => {
    for (const name of ['Europe/London', 'UTC', 'Asia/Kolkata', 'Asia/Calcutta', 'America/Argentina/Buenos_Aires'])
      assert.ok(accepts(timeZoneName, name), name);
    assert.ok(accepts(timeZoneName, 'america/port-au-prince'));
  });

  it('refuse offsets, unknown places and anything that is not a name', () => {
    for (const value of ['+08:00', '-0500', 'GMT+8', 'Mars/Olympus_Mons', '', ' UTC', 'UTC\n', 'Europe/', 42, null])
      assert.ok(!accepts(timeZoneName, value), JSON.stringify(value));
    assert.ok(!accepts(timeZoneName, `Europe/${'x'.repeat(60)}`));
  });
});
