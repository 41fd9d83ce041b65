import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { OPENAPI_FILE, openApiJson } from './openapi-file';

describe('docs/openapi.json', () => {
  it('is the document key-service serves (run `npm run docs:openapi` after changing a route or a schema)', async () => {
    const document = await openApiJson();
    assert.equal(readFileSync(OPENAPI_FILE, 'utf8'), document, 'docs/openapi.json is out of date');
    const { paths } = JSON.parse(document) as { paths: Record<string, Record<string, { responses: object }>> };
    assert.ok(Object.keys(paths['/v1/keys/{id}/rotate'].post.responses).includes('409'));
  });
});
