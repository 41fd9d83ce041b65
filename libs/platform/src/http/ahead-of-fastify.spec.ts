import assert from 'node:assert/strict';
import { AddressInfo, connect } from 'node:net';
import { describe, it } from 'node:test';
import Fastify from 'fastify';
import { until } from '@keyward/testing';
import { AheadOfFastify, CLOSE_GRACE_MS } from './ahead-of-fastify';

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

  /**
   * An app whose handler ahead of Fastify holds each request until the test answers it, closing
   * while one keep-alive connection (as an internal service's pool holds them) has a request in flight.
   */
  async function closingWithARequestInFlight() {
    const ahead = new AheadOfFastify();
    const app = Fastify({ serverFactory: ahead.serverFactory });
    const held: (() => void)[] = [];
    ahead.serve(
      (url) => url === '/hot',
      (_request, response) => held.push(() => response.end('ahead')),
    );
    await app.listen({ port: 0, host: '127.0.0.1' });
    const socket = connect((app.server.address() as AddressInfo).port, '127.0.0.1');
    const connection = { received: '', ended: false };
    socket
      .setEncoding('utf8')
      .on('data', (chunk: string) => (connection.received += chunk))
      .on('close', () => (connection.ended = true));
    /** Sends a request, lets it be answered, and waits for the answer. */
    const exchange = async (count: number) => {
      socket.write('GET /hot HTTP/1.1\r\nhost: x\r\n\r\n');
      await until(`request ${count} held`, () => Promise.resolve(held.length === 1), 5_000, 10);
      held.pop()!();
      await until(
        `answer ${count}`,
        () => Promise.resolve(connection.received.split('ahead').length > count),
        5_000,
        10,
      );
    };
    socket.write('GET /hot HTTP/1.1\r\nhost: x\r\n\r\n');
    await until('the first request held', () => Promise.resolve(held.length === 1), 5_000, 10);
    const closed = app.close().then(() => 'closed');
    await until('the server closing', () => Promise.resolve(!app.server.listening), 5_000, 10);
    held.pop()!();
    await until('the first answer', () => Promise.resolve(connection.received.includes('ahead')), 5_000, 10);
    assert.match(connection.received, /connection: keep-alive/i, 'a request that arrived before the close');
    const end = async () => {
      socket.destroy();
      await closed;
    };
    return { connection, exchange, closed, end };
  }

  it('closes, after its answer, a connection whose request arrives while the server closes: a busy client does not hold shutdown', async () => {
    const { connection, exchange, closed, end } = await closingWithARequestInFlight();
    let timer: NodeJS.Timeout | undefined;
    try {
      await exchange(2);
      assert.match(connection.received.slice(connection.received.indexOf('ahead')), /connection: close/i);
      const stuck = new Promise((resolve) => (timer = setTimeout(resolve, 5_000, 'not closed within 5 s')));
      assert.equal(await Promise.race([closed, stuck]), 'closed');
    } finally {
      clearTimeout(timer);
      await end();
    }
  });

  it('ends a connection left idle after answering the request it had in flight when the server began to close, within seconds, not its 72 s keep-alive', async () => {
    const { connection, end } = await closingWithARequestInFlight();
    try {
      await until('the idle connection ended by the server', () => Promise.resolve(connection.ended), 5_000, 10);
    } finally {
      await end();
    }
  });

  it('cuts, CLOSE_GRACE_MS after the server began to close, a connection whose request never finishes arriving', async () => {
    const app = Fastify({ serverFactory: new AheadOfFastify().serverFactory, requestTimeout: 60_000 });
    await app.listen({ port: 0, host: '127.0.0.1' });
    // Anyone can open one: Node stops timing requests once the server closes.
    const socket = connect((app.server.address() as AddressInfo).port, '127.0.0.1');
    socket.on('error', () => {});
    await new Promise((resolve) => socket.write('POST /v1/auth/otp HTTP/1.1\r\nhost: x\r\n', resolve));
    const started = Date.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      const stuck = new Promise((resolve) => (timer = setTimeout(resolve, CLOSE_GRACE_MS + 3_000, 'not closed')));
      assert.equal(await Promise.race([app.close().then(() => 'closed'), stuck]), 'closed');
      assert.ok(Date.now() - started >= CLOSE_GRACE_MS - 100, 'not before the grace');
    } finally {
      clearTimeout(timer);
      socket.destroy();
    }
  });
});
