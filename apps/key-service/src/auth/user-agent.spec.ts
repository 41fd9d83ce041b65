import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { userAgentSummary } from './user-agent';

describe('userAgentSummary', () => {
  it('names browser, major version and system', () => {
    const chromium =
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36';
    const iphone =
      'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';
    const firefox = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0';
    assert.equal(userAgentSummary(chromium), 'Chrome 156 on Linux');
    assert.equal(userAgentSummary(iphone), 'Safari 17 on iOS');
    assert.equal(userAgentSummary(firefox), 'Firefox 133 on Windows');
  });

  it('names other clients by their product token, and nothing without a header', () => {
    assert.equal(userAgentSummary('curl/8.5.0'), 'curl/8.5.0');
    assert.equal(userAgentSummary('node'), 'node');
    assert.equal(userAgentSummary('  '), null);
    assert.equal(userAgentSummary(undefined), null);
  });

  it('stays short whatever the client sends', () => {
    assert.ok(userAgentSummary('x'.repeat(100_000))!.length <= 60);
    assert.equal(userAgentSummary('<script>/1'), 'Unknown client');
  });
});
