import assert from 'node:assert/strict';
import { AddressInfo, connect } from 'node:net';
import { describe, it } from 'node:test';
import Fastify from 'fastify';
import { until } from '@keyward/testing';
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

  it('closes, after its answer, a connection whose request arrives while the server closes: a busy client does not hold shutdown', async () => {
    const ahead = new AheadOfFastify();
    const app = Fastify({ serverFactory: ahead.serverFactory });
    const held: (() => void)[] = [];
    ahead.serve(
      (url) => url === '/hot',
      (_request, response) => held.push(() => response.end('ahead')),
    );
    await app.listen({ port: 0, host: '127.0.0.1' });
    // One keep-alive connection, as an internal service's pool holds them, sending its next request
    // once the last is answered.
    const socket = connect((app.server.address() as AddressInfo).port, '127.0.0.1');
    let received = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => (received += chunk));
    const answered = (count: number) =>
      until(`answer ${count}`, () => Promise.resolve(received.split('ahead').length > count), 5_000, 10);
    let timer: NodeJS.Timeout | undefined;
    try {
      socket.write('GET /hot HTTP/1.1\r\nhost: x\r\n\r\n');
      await until('the first request held', () => Promise.resolve(held.length === 1), 5_000, 10);
      const closed = app.close().then(() => 'closed');
      await until('the server closing', () => Promise.resolve(!app.server.listening), 5_000, 10);
      held.pop()!();
      await answered(1);
      assert.match(received, /connection: keep-alive/i, 'a request that arrived before the close is answered as usual');
      socket.write('GET /hot HTTP/1.1\r\nhost: x\r\n\r\n');
      await until('the second request held', () => Promise.resolve(held.length === 1), 5_000, 10);
      held.pop()!();
      await answered(2);
      assert.match(received.slice(received.indexOf('ahead')), /connection: close/i);
      const stuck = new Promise((resolve) => (timer = setTimeout(resolve, 5_000, 'not closed within 5 s')));
      assert.equal(await Promise.race([closed, stuck]), 'closed');
    } finally {
      clearTimeout(timer);
      socket.destroy();
      await app.close();
    }
  });
});
