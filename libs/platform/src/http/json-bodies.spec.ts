import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JSON_MAX_DEPTH, JSON_MAX_PROPERTIES, jsonShapeProblem } from './json-bodies';

const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

describe('JSON body shape check', () => {
  it('passes ordinary bodies', () => {
    assert.equal(jsonShapeProblem('{"label":"prod","contacts":["ops@example.com"]}'), undefined);
    assert.equal(jsonShapeProblem(nested(JSON_MAX_DEPTH)), undefined);
  });

  it('refuses nesting deeper than the limit', () => {
    assert.match(jsonShapeProblem(nested(JSON_MAX_DEPTH + 1)) ?? '', /nested deeper than 8 levels/);
    assert.match(jsonShapeProblem('{"a":'.repeat(10_000)) ?? '', /nested deeper/);
  });

  it('refuses more properties than the limit, counted across the whole body', () => {
    const props = (n: number) => `{${Array.from({ length: n }, (_, i) => `"p${i}":{"q":1}`).join(',')}}`;
    assert.equal(jsonShapeProblem(props(JSON_MAX_PROPERTIES / 2)), undefined);
    assert.match(jsonShapeProblem(props(JSON_MAX_PROPERTIES / 2 + 1)) ?? '', /more than 64 properties/);
  });

  it('ignores brackets, colons and escaped quotes inside strings', () => {
    const text = JSON.stringify({ label: '[[[[[[[[[[{{{{{{{{{{ :::: \\" ]]' + ':'.repeat(200) });
    assert.equal(jsonShapeProblem(text), undefined);
  });
});
