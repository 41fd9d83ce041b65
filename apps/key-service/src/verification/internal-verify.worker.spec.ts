import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { freePort } from '@keyward/testing';
import type { InternalListenerSettings } from './internal-verify.messages';

const WORKER_FILE = join(__dirname, 'internal-verify.worker.js');

/**
 * The worker file, run as InternalVerifyServer runs it, which also answers `loaded-modules` (a kind
 * the worker itself ignores) with every module file its thread has loaded so far.
 */
const WORKER_TELLING_ITS_MODULES = `
const { parentPort } = require('node:worker_threads');
parentPort.on('message', (message) => {
  if (message.kind === 'loaded-modules') parentPort.postMessage({ kind: 'loaded-modules', paths: Object.keys(require.cache) });
});
require(${JSON.stringify(WORKER_FILE)});
`;

/** Nest's and prom-client's indexes, any other Nest package, and what only those indexes bring. */
const UNWANTED =
  /[\\/]node_modules[\\/](@nestjs[\\/]common[\\/]index\.js$|@nestjs[\\/](?!common[\\/])|rxjs[\\/]|prom-client[\\/]index\.js$|@opentelemetry[\\/])/;

/** The worker's next message of this kind; rejects if the worker fails first. */
function next(worker: Worker, kind: string): Promise<{ kind: string; paths?: string[] }> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: { kind: string }) => {
      if (message.kind !== kind) return;
      worker.off('message', onMessage).off('error', reject);
      resolve(message);
    };
    worker.on('message', onMessage).once('error', reject);
  });
}

/**
 * What the worker loads is much of its memory: Nest's index (with rxjs) and prom-client's (with
 * @opentelemetry/api and https) were most of its modules and about 10 MB each of its memory
 * (bench/RESULTS.md, "verify"), for the few classes it takes from @keyward/platform/http/nest-http
 * and @keyward/metrics/prom-client-core.
 */
describe('the internal verification listener’s worker', () => {
  let worker: Worker | undefined;
  after(() => worker?.terminate());

  it('loads neither @nestjs/common’s nor prom-client’s index, also once it has answered errors and metrics', async () => {
    const port = await freePort();
    const settings: InternalListenerSettings = {
      port,
      host: '127.0.0.1',
      keyHashSecret: 'internal-verify-worker-spec-secret-32',
      serviceTokens: ['internal-verify-worker-spec-service-token-0123'],
      cacheMaxEntries: 100,
      failuresPerMinute: 10,
      reportEveryMs: 1_000,
      maxConnections: 16,
      requestTimeoutMs: 10_000,
      lookupTimeoutMs: 15_000,
    };
    worker = new Worker(WORKER_TELLING_ITS_MODULES, { eval: true, workerData: settings });
    await next(worker, 'listening');
    const verify = (headers: Record<string, string>, body: string) =>
      fetch(`http://127.0.0.1:${port}/v1/keys/verify`, { method: 'POST', headers, body });
    // What an error answer loads too: the problem details of a missing token, a wrong body, a wrong type.
    const json = { 'content-type': 'application/json' };
    const token = { 'x-service-token': settings.serviceTokens[0] };
    const statuses = await Promise.all([
      verify(json, '{}'),
      verify({ ...json, ...token }, '{}'),
      verify({ 'content-type': 'text/plain', ...token }, 'key'),
    ]).then((answers) => answers.map((answer) => answer.status));
    assert.deepEqual(statuses, [401, 400, 415]);
    const metrics = next(worker, 'metrics');
    worker.postMessage({ kind: 'metrics', request: 1 });
    await metrics;

    const loaded = next(worker, 'loaded-modules');
    worker.postMessage({ kind: 'loaded-modules' });
    const { paths = [] } = await loaded;
    assert.ok(paths.includes(WORKER_FILE), 'the list is the worker’s own');
    const unwanted = paths.filter((path) => UNWANTED.test(path));
    assert.equal(
      unwanted.length,
      0,
      `no Nest or prom-client index, rxjs or @opentelemetry/api; loaded ${unwanted.length}: ${unwanted.slice(0, 3)}…`,
    );
  });
});
