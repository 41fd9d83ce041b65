import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { portablePattern } from './portable-pattern';

describe('a pattern every regex engine reads', () => {
  const printable = '^[^\\p{Cc}\\p{Cf}\\p{Cs}\\p{Zl}\\p{Zp}]*$';

  it('leaves patterns without property escapes alone', () => {
    assert.equal(portablePattern('^\\d{6}$'), '^\\d{6}$');
    assert.equal(portablePattern('^[0-9a-f]{24}$'), '^[0-9a-f]{24}$');
  });

  it('writes property classes as explicit ranges, with no \\p left', () => {
    const portable = portablePattern(printable);
    assert.doesNotMatch(portable, /\\p\{/);
    assert.match(portable, /^\^\[\^\\u0000-\\u001f\\u007f-\\u009f\\u00ad/);
  });

  it('matches exactly the characters the original matches (surrogates aside)', () => {
    const original = new RegExp(printable, 'u');
    const portable = new RegExp(portablePattern(printable), 'u');
    for (let cp = 0; cp <= 0x10ffff; cp += cp < 0x3000 ? 1 : 7) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const text = String.fromCodePoint(cp);
      assert.equal(portable.test(text), original.test(text), `U+${cp.toString(16)}`);
    }
  });

  it('expands a property escape outside a class as a class of one', () => {
    assert.equal(portablePattern('^\\p{Zl}$'), '^[\\u2028]$');
  });
});
