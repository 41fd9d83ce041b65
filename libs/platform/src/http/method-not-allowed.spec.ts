import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Fastify from 'fastify';
import { refuseUnknownMethods } from './method-not-allowed';

async function server() {
  const fastify = Fastify();
  refuseUnknownMethods(fastify);
  const ok = async () => 'ok';
  fastify.get('/v1/keys', ok);
  fastify.post('/v1/keys', ok);
  fastify.get('/v1/keys/:id', ok);
  fastify.delete('/v1/keys/:id', ok);
  fastify.post('/v1/keys/verify', ok);
  await fastify.ready();
  return fastify;
}

describe('a method a path does not have', () => {
  it('answers 405 naming the methods the path takes', async () => {
    const fastify = await server();
    const res = await fastify.inject({ method: 'PUT', url: '/v1/keys/abc?x=1' });
    assert.equal(res.statusCode, 405);
    assert.equal(res.headers.allow, 'DELETE, GET, HEAD');
    assert.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8');
    assert.match(res.json<{ detail: string }>().detail, /PUT is not allowed here/);
  });

  it('takes the most specific path: GET /v1/keys/verify is not a lookup of a key called verify', async () => {
    const fastify = await server();
    const res = await fastify.inject({ method: 'GET', url: '/v1/keys/verify' });
    assert.equal(res.statusCode, 405);
    assert.equal(res.headers.allow, 'POST');
    assert.equal((await fastify.inject({ method: 'POST', url: '/v1/keys/verify' })).statusCode, 200);
  });

  it('leaves routes that exist and paths that do not alone', async () => {
    const fastify = await server();
    assert.equal((await fastify.inject({ method: 'GET', url: '/v1/keys/abc' })).statusCode, 200);
    assert.equal((await fastify.inject({ method: 'HEAD', url: '/v1/keys' })).statusCode, 200);
    assert.equal((await fastify.inject({ method: 'GET', url: '/v1/nothing' })).statusCode, 404);
  });
});
