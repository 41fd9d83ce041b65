import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { crossSiteRefusal } from './cross-site-requests';

const HOST = 'keys.example.com';

describe('crossSiteRefusal', () => {
  it('lets reads through whatever their origin', () => {
    assert.equal(crossSiteRefusal('GET', { 'sec-fetch-site': 'cross-site', origin: 'https://evil.test' }, HOST), null);
  });

  it("accepts changes from the site's own pages, typed URLs and non-browser clients", () => {
    assert.equal(crossSiteRefusal('POST', { 'sec-fetch-site': 'same-origin', origin: `https://${HOST}` }, HOST), null);
    assert.equal(crossSiteRefusal('POST', { 'sec-fetch-site': 'none' }, HOST), null);
    assert.equal(crossSiteRefusal('DELETE', { origin: 'https://KEYS.example.com' }, HOST), null);
    assert.equal(crossSiteRefusal('PUT', {}, HOST), null);
  });

  it('refuses cross-site and same-site (sibling subdomain) fetches', () => {
    assert.match(crossSiteRefusal('POST', { 'sec-fetch-site': 'cross-site' }, HOST) ?? '', /cross-site request/);
    assert.match(crossSiteRefusal('PUT', { 'sec-fetch-site': 'same-site' }, HOST) ?? '', /same-site request/);
  });

  it('refuses a foreign, opaque or malformed Origin when Sec-Fetch-Site is absent', () => {
    for (const origin of ['https://evil.test', `https://${HOST}.evil.test`, 'null', 'not a url']) {
      assert.match(crossSiteRefusal('POST', { origin }, HOST) ?? '', /from origin/, origin);
    }
    assert.match(crossSiteRefusal('POST', { origin: `https://${HOST}:8443` }, HOST) ?? '', /from origin/);
  });
});
