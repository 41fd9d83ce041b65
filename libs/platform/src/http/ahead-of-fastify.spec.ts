import assert from 'node:assert/strict';
import { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import Fastify from 'fastify';
import { AheadOfFastify } from './ahead-of-fastify';

describe('requests ahead of Fastify', () => {
  it('sends a matching request to its handler from the moment it is served, and every other to Fastify', async () => {
    const ahead = new AheadOfFastify();
    const server = ahead.serverFactory((_request, response) => response.end('fastify'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const get = async (path: string) =>
      (await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`)).text();
    try {
      assert.equal(await get('/hot'), 'fastify', 'nothing served ahead yet');
      ahead.serve(
        (url) => url === '/hot',
        (_request, response) => response.end('ahead'),
      );
      assert.equal(await get('/hot'), 'ahead');
      assert.equal(await get('/hot/other'), 'fastify');
      assert.equal(await get('/'), 'fastify');
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('times connections as a server Fastify made itself would: its keep-alive, and the request timeout it is given', async () => {
    const options = { requestTimeout: 45_000 };
    const own = Fastify(options);
    const ahead = Fastify({ ...options, serverFactory: new AheadOfFastify().serverFactory });
    try {
      for (const setting of ['keepAliveTimeout', 'requestTimeout', 'timeout', 'maxRequestsPerSocket'] as const)
        assert.equal(ahead.server[setting], own.server[setting], setting);
      assert.equal(ahead.server.requestTimeout, 45_000);
    } finally {
      await Promise.all([own.close(), ahead.close()]);
    }
  });
});
