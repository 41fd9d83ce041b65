import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Fastify from 'fastify';
import { answerFrameworkError, JSON_MAX_DEPTH, JSON_MAX_PROPERTIES, jsonShapeProblem } from './json-bodies';

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

describe('Fastify framework errors', () => {
  const app = Fastify({ frameworkErrors: answerFrameworkError });
  app.get('/v1/sessions/:id', () => ({ found: true }));

  it('answers a path parameter over Fastify’s limit as the 404 of any unknown id, in problem details', async () => {
    const res = await app.inject({ method: 'GET', url: `/v1/sessions/${'ṱ'.repeat(120)}` });
    assert.equal(res.statusCode, 404);
    assert.match(res.headers['content-type'] as string, /^application\/problem\+json/);
    assert.equal((res.json() as { detail: string }).detail, 'Not found');
    assert.equal((await app.inject({ method: 'GET', url: '/v1/sessions/abc' })).statusCode, 200);
  });

  it('answers a URL it cannot decode with a 400 in problem details', async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/sessions/%E0%A4%A' });
    assert.equal(res.statusCode, 400);
    assert.match(res.headers['content-type'] as string, /^application\/problem\+json/);
  });
});
