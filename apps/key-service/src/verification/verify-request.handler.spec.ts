import assert from 'node:assert/strict';
import { AddressInfo, connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createServer, Server } from 'node:http';
import type { KeyVerification } from '@keyward/contracts';
import { TooManyRequestsException } from '@keyward/platform/http/problem-details';
import { until } from '@keyward/testing';
import { verifyRequestHandler } from './verify-request.handler';
import { TokenSet } from './token-set';

const TOKEN = 'internal-verify-listener-spec-token-0123456789';
const VALID: KeyVerification = {
  valid: true,
  keyId: '0123456789abcdef01234567',
  owner: 'alice',
  label: 'production',
  expiresAt: '2027-05-01T00:00:00.000Z',
};

describe('the verification request handler', () => {
  let server: Server;
  let base: string;
  const verified: [caller: string, key: string][] = [];
  const logged: string[] = [];
  const warned: string[] = [];
  const answered: string[] = [];

  before(async () => {
    server = createServer(
      verifyRequestHandler({
        verifier: {
          verifyFor: (caller, key) => {
            verified.push([caller, key]);
            if (key === 'over-budget') return Promise.reject(new TooManyRequestsException(42));
            if (key === 'broken') return Promise.reject(new Error('a bug'));
            return Promise.resolve(VALID);
          },
        },
        tokens: new TokenSet([TOKEN]),
        errors: { error: ({ errorId }) => logged.push(errorId), warn: (message) => warned.push(message) },
        headers: { 'cache-control': 'no-store', 'x-listener': 'spec' },
        answered: (method, status) => answered.push(`${method} ${status}`),
      }),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const post = (body: string | undefined, headers: Record<string, string> = {}, path = '/v1/keys/verify') =>
    fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'x-service-token': TOKEN, 'content-type': 'application/json', ...headers },
      body,
    });

  async function assertProblem(res: Response, status: number, detail: RegExp): Promise<Record<string, unknown>> {
    const text = await res.text();
    assert.equal(res.status, status, text);
    assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    const problem = JSON.parse(text) as Record<string, unknown>;
    assert.equal(problem.status, status);
    assert.equal(problem.type, 'about:blank');
    assert.match(String(problem.detail), detail);
    return problem;
  }

  it('answers a verification with the verifier’s answer, for the caller its token names, query string or not', async () => {
    verified.length = 0;
    for (const path of ['/v1/keys/verify', '/v1/keys/verify?from=gateway']) {
      const res = await post(JSON.stringify({ key: 'alice_v1_x' }), {}, path);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8');
      assert.equal(res.headers.get('cache-control'), 'no-store');
      assert.equal(res.headers.get('x-listener'), 'spec', 'the listener’s headers');
      assert.deepEqual(await res.json(), VALID);
    }
    assert.deepEqual(
      verified.map(([, key]) => key),
      ['alice_v1_x', 'alice_v1_x'],
    );
    assert.equal(verified[0][0], new TokenSet([TOKEN]).callerOf(TOKEN));
  });

  it('reads a body that starts with a byte order mark, as Fastify’s JSON parser does on every other route', async () => {
    verified.length = 0;
    const res = await post('\uFEFF{"key":"alice_v1_bom"}');
    assert.equal(res.status, 200, await res.clone().text());
    assert.deepEqual(await res.json(), VALID);
    assert.deepEqual(
      verified.map(([, key]) => key),
      ['alice_v1_bom'],
    );
  });

  it('answers 404 to any other path, and 405 naming POST to another method', async () => {
    await assertProblem(await post('{"key":"k"}', {}, '/v1/keys/verify/'), 404, /Only POST \/v1\/keys\/verify/);
    await assertProblem(await post('{"key":"k"}', {}, '/v1/keys'), 404, /Only POST/);
    const get = await fetch(`${base}/v1/keys/verify`, { headers: { 'x-service-token': TOKEN } });
    await assertProblem(get, 405, /GET is not allowed here; this path takes POST/);
    assert.equal(get.headers.get('allow'), 'POST');
  });

  it('answers 401 without a known token, before reading the body, and closes that connection', async () => {
    verified.length = 0;
    const res = await post(JSON.stringify({ key: 'k' }), { 'x-service-token': 'not-a-token' });
    await assertProblem(res, 401, /x-service-token/);
    assert.equal(res.headers.get('connection'), 'close');
    await assertProblem(await post(JSON.stringify({ key: 'k' }), { 'x-service-token': '' }), 401, /x-service-token/);
    assert.equal(verified.length, 0);
  });

  it('takes only JSON: 415 for forms, text and a body without a type', async () => {
    await assertProblem(
      await post('key=k', { 'content-type': 'application/x-www-form-urlencoded' }),
      415,
      /sent as application\/json/,
    );
    await assertProblem(await post('{"key":"k"}', { 'content-type': 'text/plain' }), 415, /sent as application\/json/);
    await assertProblem(
      await post('{"key":"k"}', { 'content-type': 'application/jsonx' }),
      415,
      /sent as application\/json/,
    );
    const untyped = await rawRequest(
      `POST /v1/keys/verify HTTP/1.1\r\nhost: x\r\nx-service-token: ${TOKEN}\r\ncontent-length: 11\r\n\r\n{"key":"k"}`,
    );
    assert.match(untyped, /^HTTP\/1.1 415 /);
    assert.equal((await post('{"key":"k"}', { 'content-type': 'Application/JSON; charset=UTF-8' })).status, 200);
  });

  it('refuses a body over 1 KB with 413, by its length or as it streams in', async () => {
    const big = JSON.stringify({ key: 'k'.repeat(2000) });
    await assertProblem(await post(big), 413, /larger than this route accepts/);
    const chunked = await rawRequest(
      `POST /v1/keys/verify HTTP/1.1\r\nhost: x\r\nx-service-token: ${TOKEN}\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n` +
        `${(2000).toString(16)}\r\n${'x'.repeat(2000)}\r\n0\r\n\r\n`,
    );
    assert.match(chunked, /^HTTP\/1.1 413 /);
  });

  it('refuses an empty body, text that is not JSON (without echoing it), deep nesting and unknown fields with 400', async () => {
    const bodiless = await fetch(`${base}/v1/keys/verify`, { method: 'POST', headers: { 'x-service-token': TOKEN } });
    await assertProblem(bodiless, 400, /key is required/);
    await assertProblem(await post(''), 400, /empty/);
    const notJson = await assertProblem(await post('{"key": secret-looking-text'), 400, /not valid JSON/);
    assert.doesNotMatch(JSON.stringify(notJson), /secret-looking-text/);
    await assertProblem(await post(`${'{"key":'.repeat(20)}1${'}'.repeat(20)}`), 400, /nested deeper/);
    const poisoned = await assertProblem(await post('{"key":"k","__proto__":{"valid":true}}'), 400, /not accepted/);
    assert.deepEqual(poisoned.errors, [{ field: '__proto__', message: '__proto__ is not accepted' }]);
    await assertProblem(await post('{"key":7}'), 400, /key must be text/);
  });

  it('answers the verifier’s refusals as problem details, a 429 with Retry-After', async () => {
    answered.length = 0;
    const res = await post(JSON.stringify({ key: 'over-budget' }));
    await assertProblem(res, 429, /try again in 42 seconds/);
    assert.equal(res.headers.get('retry-after'), '42');
    assert.equal(res.headers.get('x-listener'), 'spec', 'refusals carry the listener’s headers too');
    assert.deepEqual(answered, ['POST 429'], 'each answer timed once');
    assert.notEqual(res.headers.get('connection'), 'close');
  });

  it('answers 500 for an unexpected error, logged under the id the answer shows, and nothing more', async () => {
    logged.length = 0;
    const problem = await assertProblem(await post(JSON.stringify({ key: 'broken' })), 500, /error id/);
    assert.equal(logged.length, 1);
    assert.match(String(problem.detail), new RegExp(logged[0]));
    assert.equal(problem.errorId, logged[0], 'the id in its own field, as every listener answers a 500');
    assert.doesNotMatch(JSON.stringify(problem), /a bug/);
  });

  it('answers a body its caller broke off as the caller’s fault (400), not as a dependency down (503) nor a 500', async () => {
    answered.length = 0;
    logged.length = 0;
    warned.length = 0;
    const { port } = server.address() as AddressInfo;
    const socket = connect(port, '127.0.0.1', () =>
      socket.write(
        `POST /v1/keys/verify HTTP/1.1\r\nhost: x\r\nx-service-token: ${TOKEN}\r\ncontent-type: application/json\r\n` +
          'content-length: 100\r\nexpect: 100-continue\r\n\r\n',
      ),
    );
    // Node sends 100 Continue as it hands the request to the handler, which is then reading the body.
    socket.once('data', () => socket.write('{"key":', () => socket.destroy()));
    await until('the broken-off request answered', () => Promise.resolve(answered.length > 0), 5_000, 10);
    assert.deepEqual(answered, ['POST 400']);
    assert.deepEqual(warned, [], 'no dependency reported unreachable');
    assert.deepEqual(logged, []);
  });

  async function rawRequest(text: string): Promise<string> {
    const { port } = server.address() as AddressInfo;
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => socket.end(text));
      let answer = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => (answer += chunk));
      socket.on('close', () => resolve(answer));
      socket.on('error', reject);
    });
  }
});
