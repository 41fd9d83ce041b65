import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { connect, createServer, Socket } from 'node:net';
import { after, afterEach, describe, it, mock } from 'node:test';
import { inspect } from 'node:util';
import { Worker } from 'node:worker_threads';
import { Logger } from '@nestjs/common';
import type { KeyVerification } from '@keyward/contracts';
import type { Cacheable } from '@keyward/key-client';
import { WorkerMetrics } from '@keyward/metrics';
import { SCHED_FIFO, schedulingPolicyOf } from '@keyward/platform';
import { freePort, sleep, until, untilFound } from '@keyward/testing';
import { VerificationFailuresRecorder } from '../activity/verification-failures.recorder';
import { KeyServiceSettings } from '../config/key-service.env';
import { KeyDigests } from '../hashing/key-digests';
import { generateKey } from '../keys/key-format';
import { InternalVerifyServer, MAX_CONNECTIONS } from './internal-verify.server';
import { UNKNOWN } from './key-verifier';
import { LastUsedRecorder } from './last-used.recorder';
import { VerificationService } from './verification.service';

const SECRET = 'internal-verify-spec-secret-of-32-chars';
const TOKEN = 'internal-verify-spec-service-token-0123456789';
const LABEL = 'l'.repeat(64);
/** A verification with its token (without one it is answered 401 and closed before its body), its body cut short. */
const SLOW_REQUEST = `POST /v1/keys/verify HTTP/1.1\r\nhost: x\r\nx-service-token: ${TOKEN}\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"key":"`;

/** key-service's side of the worker: every lookup finds nothing. */
class NothingStored {
  lookups = 0;
  /** Lookups never answered, as when a database call never returns. */
  hanging = false;
  /** What lookups fail with, else nothing. */
  failure?: Error;
  /** An answer the worker cannot use, else nothing. */
  broken = false;
  /** Failures the worker spent, by caller, as VerificationService counts them. */
  readonly failures = new Map<string, number>();
  follow(): void {}
  countFailure(caller: string): void {
    this.failures.set(caller, (this.failures.get(caller) ?? 0) + 1);
  }
  failuresSpent(): [string, number][] {
    return [...this.failures];
  }
  lookup(): Promise<Cacheable<KeyVerification>> {
    this.lookups++;
    if (this.hanging) return new Promise(() => {});
    if (this.failure) return Promise.reject(this.failure);
    const value = this.broken ? (null as unknown as KeyVerification) : UNKNOWN;
    return Promise.resolve({ value, expiresAtMs: Date.now() + 5_000 });
  }
}

/** LastUsedRecorder's and VerificationFailuresRecorder's side: what the worker reported. */
class Recorded {
  readonly keyIds: string[] = [];
  record(keyId: string): void {
    this.keyIds.push(keyId);
  }
  flush(): Promise<void> {
    return Promise.resolve();
  }
}

const validAnswer = (keyId: string, label = LABEL): Cacheable<KeyVerification> => ({
  value: {
    valid: true,
    keyId,
    owner: randomBytes(12).toString('hex'),
    label,
    expiresAt: new Date().toISOString(),
  },
  keyId,
  expiresAtMs: Date.now() + 600_000,
});

/**
 * InternalVerifyServer with its real worker (the compiled internal-verify.worker.js beside this
 * spec) on a free port, and key-service's side (database, recorders) left out.
 */
describe('the internal verification listener’s worker', () => {
  const servers: InternalVerifyServer[] = [];
  /** Connections a test opened itself. */
  const sockets: Socket[] = [];
  let url: string;
  let stored: NothingStored;
  let lastUsed: Recorded;
  let workerMetrics: WorkerMetrics;
  /** Everything key-service logs while these tests run: checked for secrets at the end. */
  const logged = (['log', 'warn', 'error'] as const).map((level) =>
    mock.method(Logger.prototype, level, (..._fields: unknown[]) => undefined),
  );
  const errors = logged[2];
  after(() => {
    const text = inspect(
      logged.flatMap((method) => method.mock.calls.map((call) => call.arguments)),
      { depth: 8 },
    );
    mock.restoreAll();
    assert.ok(!text.includes(SECRET) && !text.includes(TOKEN), 'no KEY_HASH_SECRET or service token logged');
  });
  /** The fields of error lines logged with this message. */
  const errorsLogged = (message: string) =>
    errors.mock.calls.filter((call) => call.arguments[1] === message).map((call) => call.arguments[0]);

  async function started(
    cacheMaxEntries: number,
    failuresPerMinute = 600,
    priority: 'normal' | 'realtime' = 'normal',
  ): Promise<InternalVerifyServer> {
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    stored = new NothingStored();
    lastUsed = new Recorded();
    workerMetrics = new WorkerMetrics();
    const server = new InternalVerifyServer(
      stored as unknown as VerificationService,
      lastUsed as unknown as LastUsedRecorder,
      new Recorded() as unknown as VerificationFailuresRecorder,
      workerMetrics,
      {
        VERIFY_HTTP_PORT: port,
        VERIFY_HTTP_HOST: '127.0.0.1',
        KEY_HASH_SECRET: SECRET,
        VERIFY_SERVICE_TOKENS: [TOKEN],
        VERIFY_CACHE_MAX_ENTRIES: cacheMaxEntries,
        VERIFY_FAILURES_PER_MINUTE: failuresPerMinute,
        LAST_USED_FLUSH_MS: 1_000,
        VERIFY_THREAD_PRIORITY: priority,
      } as KeyServiceSettings,
    );
    servers.push(server);
    await server.onApplicationBootstrap();
    return server;
  }

  const verify = (key: string) =>
    fetch(`${url}/v1/keys/verify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-service-token': TOKEN },
      body: JSON.stringify({ key }),
    }).then((res) => res.json() as Promise<KeyVerification>);

  /** Resolves once the worker has handled every message sent before: its answer to a metrics request. */
  const handledSoFar = () =>
    until('the worker answers', async () => (await workerMetrics.snapshots()).length > 0, 30_000);

  /** A connection that sent a request's headers and part of its body, and then waits. */
  const slowSender = () =>
    new Promise<Socket>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port: Number(new URL(url).port) }, () => resolve(socket));
      socket.once('error', reject);
      socket.write(SLOW_REQUEST);
      socket.resume(); // reads what the listener answers, so that its closing is seen
      sockets.push(socket);
    });

  const shutDown = (server: InternalVerifyServer) => {
    servers.splice(servers.indexOf(server), 1);
    return server.onApplicationShutdown();
  };

  afterEach(async () => {
    sockets.splice(0).forEach((socket) => socket.destroy());
    await Promise.all(servers.splice(0).map((server) => server.onApplicationShutdown()));
  });

  it('holds VERIFY_CACHE_MAX_ENTRIES answers with the longest labels without running out of heap', async () => {
    const entries = 150_000;
    const server = await started(entries);
    const key = generateKey('cached');
    const keyId = randomBytes(12).toString('hex');
    server.remember(new KeyDigests(SECRET).hash(key), validAnswer(keyId));
    for (let i = 1; i < entries; i++)
      server.remember(randomBytes(32).toString('base64url'), validAnswer(randomBytes(12).toString('hex')));
    await handledSoFar();

    assert.equal((await verify(key)).valid, true, 'answered from the cache the worker filled');
    assert.equal(stored.lookups, 0, 'no lookup: the worker that cached it still runs');
  });

  it('closes connections past MAX_CONNECTIONS as they arrive, and answers again once the others go', async () => {
    await started(1_000);
    for (let i = 0; i < MAX_CONNECTIONS; i++) await slowSender();
    const extra = await slowSender();
    await until('the connection past the limit is closed', async () => extra.closed, 10_000);
    assert.equal(
      sockets.filter((socket) => socket.closed).length,
      1,
      'only that one: the others wait for their bodies',
    );
    const dropped = (await workerMetrics.snapshots())
      .flat()
      .find((metric) => metric.name === 'keyward_internal_verify_connections_dropped_total');
    assert.equal(dropped?.values[0]?.value, 1, 'counted');

    sockets.forEach((socket) => socket.destroy());
    const answered = () =>
      verify(generateKey('after')).then(
        (answer) => answer.valid === false,
        (error: Error) => error.message,
      );
    await until('answered again', answered, 10_000);
  });

  it('shuts down within its grace while a caller holds a request open, and records what it verified', async () => {
    const server = await started(1_000);
    const key = generateKey('used');
    const keyId = randomBytes(12).toString('hex');
    server.remember(new KeyDigests(SECRET).hash(key), validAnswer(keyId));
    assert.equal((await verify(key)).valid, true);
    await slowSender();
    // Its headers are read before a request sent after them on another connection is answered.
    assert.equal((await verify(generateKey('other'))).valid, false);

    const shutdown = server.onApplicationShutdown();
    servers.splice(servers.indexOf(server), 1);
    await until('shut down', () => Promise.race([shutdown.then(() => true), sleep(100).then(() => 'waiting')]), 8_000);
    assert.deepEqual(lastUsed.keyIds, [keyId], 'its last report recorded');
  });

  it('terminates a worker that does not end at shutdown, so that key-service’s shutdown ends', async () => {
    const server = await started(1_000);
    // The worker never hears of the shutdown, as when its event loop is blocked.
    const postMessage = Worker.prototype.postMessage;
    const close = mock.method(Worker.prototype, 'postMessage', function (this: Worker, message: { kind: string }) {
      if (message.kind !== 'close') postMessage.call(this, message);
    });
    try {
      const shutdown = server.onApplicationShutdown();
      servers.splice(servers.indexOf(server), 1);
      await until(
        'shut down',
        () => Promise.race([shutdown.then(() => true), sleep(100).then(() => 'waiting')]),
        12_000,
      );
    } finally {
      close.mock.restore();
    }
    assert.equal(errors.mock.calls.filter((call) => /did not end within/.test(String(call.arguments[0]))).length, 1);
    await assert.rejects(verify(generateKey('after')), 'nothing listens any more');
  });

  /** Ends the worker: answers far larger than any label (64 characters) exhaust its heap. */
  const exhaust = (server: InternalVerifyServer) => {
    for (let i = 0; i < 200; i++)
      server.remember(randomBytes(32).toString('base64url'), validAnswer(String(i), 'x'.repeat(2 ** 20)));
  };

  /** keyward_verifications_total as the workers' metrics for a scrape give it. */
  const verificationsCounted = async () =>
    (await workerMetrics.snapshots())
      .flat()
      .filter((metric) => metric.name === 'keyward_verifications_total')
      .flatMap((metric) => metric.values)
      .reduce((total, { value }) => total + value, 0);

  /**
   * Ends the worker holding `server`'s only remembered answer, that `key` is valid, and waits for the
   * next one: it has not cached `key`, so it asks (and this spec's key-service finds nothing).
   */
  async function replaceWorker(server: InternalVerifyServer, key: string): Promise<void> {
    exhaust(server);
    await until('answered by a new worker', answeredByNewWorker(key), 30_000);
  }

  /** Whether a worker that has not cached `key` answers it (this spec's key-service finds nothing). */
  const answeredByNewWorker = (key: string) => () =>
    verify(key).then(
      (answer) => answer.valid === false || 'still the worker that cached it',
      (error: Error) => error.message,
    );

  /** A key `server`'s worker has cached as valid. */
  function remembered(server: InternalVerifyServer): string {
    const key = generateKey('remembered');
    server.remember(new KeyDigests(SECRET).hash(key), validAnswer(randomBytes(12).toString('hex')));
    return key;
  }

  /** The names of this process's threads at real-time priority (a thread may end while they are read). */
  function realTimeThreads(): string[] {
    return readdirSync('/proc/self/task').flatMap((thread) => {
      try {
        return schedulingPolicyOf(Number(thread)) === SCHED_FIFO
          ? [readFileSync(`/proc/self/task/${thread}/comm`, 'utf8').trim()]
          : [];
      } catch {
        return [];
      }
    });
  }

  it('runs its worker thread, and only it, at real-time priority with VERIFY_THREAD_PRIORITY=realtime, again after a restart', async () => {
    await shutDown(await started(1_000));
    assert.deepEqual(realTimeThreads(), [], 'normal priority by default');
    const server = await started(1_000, 600, 'realtime');
    assert.deepEqual(realTimeThreads(), ['WorkerThread'], 'set before it is said to listen');
    await replaceWorker(server, remembered(server));
    await until('the new worker at real-time priority', async () => realTimeThreads().length === 1, 10_000);
    assert.deepEqual(realTimeThreads(), ['WorkerThread']);
  });

  /**
   * Keeps `connections` connections verifying `key` as fast as the worker answers: each sends its
   * verifications pipelined, 100 at a time, and the next 100 as answers come. Stopped by the returned function.
   */
  function flood(key: string, connections = 4): () => void {
    const body = JSON.stringify({ key });
    const batch =
      `POST /v1/keys/verify HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\nx-service-token: ${TOKEN}\r\ncontent-length: ${body.length}\r\n\r\n${body}`.repeat(
        100,
      );
    let flooding = true;
    for (let i = 0; i < connections; i++) {
      const socket = connect({ host: '127.0.0.1', port: Number(new URL(url).port) }, () => socket.write(batch));
      sockets.push(socket);
      socket.on('data', () => {
        if (flooding && socket.writableLength === 0) socket.write(batch);
      });
    }
    return () => {
      flooding = false;
    };
  }

  it('gives up real-time priority while a flood of verifications keeps its worker busy, and takes it back after', async () => {
    const server = await started(1_000, 600, 'realtime');
    const stop = flood(remembered(server));
    try {
      await until('the flooded worker at normal priority', async () => realTimeThreads().length === 0, 15_000);
    } finally {
      stop();
    }
    await until('the worker at real-time priority again', async () => realTimeThreads().length === 1, 15_000);
    assert.deepEqual(realTimeThreads(), ['WorkerThread']);
  });

  it('starts a worker that ended again, its cache empty', async () => {
    const server = await started(1_000);
    const key = remembered(server);
    assert.equal((await verify(key)).valid, true);
    await replaceWorker(server, key);
    assert.ok(stored.lookups > 0, 'looked up: its cache started empty');
  });

  it('keeps starting a worker that ended again until one listens', async () => {
    const server = await started(1_000);
    const key = remembered(server);
    exhaust(server);
    // Something else takes the port while the worker is gone: the first new worker cannot listen.
    const squatter = createServer();
    const takePort = () =>
      new Promise<true | string>((resolve) => {
        squatter.once('error', (error) => resolve(error.message));
        squatter.listen(Number(new URL(url).port), '127.0.0.1', () => resolve(true));
      });
    await until('the port taken once the worker is gone', takePort, 30_000);
    const failedToStart = async () =>
      errorsLogged('could not start the internal verification listener again').length > 0;
    await until('a new worker failed to listen', failedToStart, 10_000);
    await new Promise((resolve) => squatter.close(resolve));

    await until('answered by a worker started after that', answeredByNewWorker(key), 30_000);
  });

  it('closes a connection whose request has not arrived within the request timeout', async () => {
    await started(1_000);
    const slow = await slowSender();
    assert.equal((await verify(generateKey('other'))).valid, false);
    assert.equal(slow.closed, false, 'still waiting for its body after another request was answered');
    await until('the slow request cut', async () => slow.closed, 15_000);
  });

  it('answers 503 to a verification whose lookup key-service never answers, and looks the key up again after', async () => {
    await started(1_000);
    stored.hanging = true;
    const key = generateKey('hanging');
    const res = await fetch(`${url}/v1/keys/verify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-service-token': TOKEN },
      body: JSON.stringify({ key }),
      signal: AbortSignal.timeout(20_000),
    });
    assert.equal(res.status, 503);
    assert.ok(Number(res.headers.get('retry-after')) > 0);

    stored.hanging = false;
    assert.deepEqual(await verify(key), UNKNOWN, 'a new lookup, not the one that never came back');
    assert.equal(stored.lookups, 2);
  });

  it('keeps the counts of a worker that ended in the metrics, so its counters do not go back', async () => {
    const server = await started(1_000);
    const key = remembered(server);
    for (let i = 0; i < 3; i++) assert.equal((await verify(key)).valid, true);
    assert.equal(await verificationsCounted(), 3);
    await replaceWorker(server, key);
    assert.equal(await verificationsCounted(), 4, 'the ended worker’s 3 and the new one’s answer');
  });

  it('counts its answers by status code in keyward_internal_verify_answers_total', async () => {
    const server = await started(1_000);
    assert.equal((await verify(remembered(server))).valid, true);
    const refused = await fetch(`${url}/v1/keys/verify`, { method: 'POST', body: '{}' });
    assert.equal(refused.status, 401);
    await refused.body?.cancel();
    const counted = Object.fromEntries(
      (await workerMetrics.snapshots())
        .flat()
        .filter((metric) => metric.name === 'keyward_internal_verify_answers_total')
        .flatMap((metric) => metric.values)
        .map(({ labels, value }) => [String(labels.status), value]),
    );
    assert.deepEqual(counted, { 200: 1, 401: 1 });
  });

  /** A verification answered 500, and the error id its detail shows. */
  async function failed(key: string): Promise<string> {
    const res = await fetch(`${url}/v1/keys/verify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-service-token': TOKEN },
      body: JSON.stringify({ key }),
    });
    assert.equal(res.status, 500);
    const { detail } = (await res.json()) as { detail: string };
    return /error id ([\w-]+)/.exec(detail)?.[1] ?? assert.fail(detail);
  }

  it('answers 500 for an error in the worker, logged by key-service under the id the answer shows', async () => {
    await started(1_000);
    stored.broken = true;
    const errorId = await failed(generateKey('broken'));
    const [fields] = errorsLogged(`request failed ${errorId}`) as { err: Error; errorId: string }[];
    assert.equal(fields?.errorId, errorId);
    assert.match(fields.err.message, /null/, 'the worker’s error');
  });

  it('answers 500 for a lookup that failed in key-service, logged under the id the answer shows', async () => {
    await started(1_000);
    stored.failure = new Error('the lookup failed');
    const errorId = await failed(generateKey('failing'));
    const [fields] = errorsLogged(`request failed ${errorId}`) as { err: Error; errorId: string }[];
    assert.equal(fields?.err, stored.failure);
  });

  it('has a worker started again spend what is left of each caller’s budget', async () => {
    const server = await started(1_000, 2);
    const key = remembered(server);
    for (let i = 0; i < 2; i++) assert.deepEqual(await verify(generateKey('guess')), UNKNOWN);
    exhaust(server);

    // The ended worker answers `key` valid from its cache; a new one looks it up, finds nothing: a failure.
    const status = () =>
      fetch(`${url}/v1/keys/verify`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-service-token': TOKEN },
        body: JSON.stringify({ key }),
      }).then(
        async (res) => (res.status === 200 && ((await res.json()) as KeyVerification).valid ? undefined : res.status),
        () => undefined,
      );
    assert.equal(await untilFound('a failure answered by a new worker', status, 30_000), 429);
  });
});
