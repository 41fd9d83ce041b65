import type { KeyVerification } from '@keyward/contracts';
import type { Cacheable } from '@keyward/key-client';
import { Counter, Registry } from '@keyward/metrics/prom-client-core';
import { DEPENDENCY_RETRY_AFTER_SECONDS } from '@keyward/platform/http/dependency-unavailable';
import { HttpException, ServiceUnavailableException } from '@keyward/platform/http/nest-http';
import { linuxThreadId } from '@keyward/platform/real-time-priority';
import { createServer } from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';
import { KeyDigests } from '../hashing/key-digests';
import type {
  FromInternalListener,
  InternalListenerSettings,
  Refusal,
  ToInternalListener,
} from './internal-verify.messages';
import { KeyVerifier } from './key-verifier';
import { TokenSet } from './token-set';
import { VerificationMetrics } from './verification.metrics';
import { verifyRequestHandler } from './verify-request.handler';

/**
 * The internal verification listener (VERIFY_HTTP_PORT), run by InternalVerifyServer in a worker
 * thread: node:http serving verifyRequestHandler, with a KeyVerifier of its own. On its own event
 * loop and small heap, a cached verification neither waits behind key-service's other work (key
 * creation, consumers, sweepers) nor pays for scavenging key-service's large heap (bench/RESULTS.md,
 * "verify" and "mixed"). What it cannot answer from its cache it asks key-service, which also
 * passes on every drop of a cached answer, and receives what it verified (lastUsedAt, refusals)
 * every reportEveryMs. Its metrics are merged into key-service's `GET /metrics`.
 */
const settings = workerData as InternalListenerSettings;
const parent = parentPort!;
const post = (message: FromInternalListener) => parent.postMessage(message);

const lookups = new Map<
  number,
  { resolve(answer: Cacheable<KeyVerification>): void; reject(error: unknown): void; timer: NodeJS.Timeout }
>();
let nextLookup = 0;
let used = new Map<string, number>();
let refused = new Map<string, Refusal>();

const registry = new Registry();
const metrics = new VerificationMetrics(registry);
/** The public port times its answers into keyward_http_request_duration_seconds; this listener counts its own. */
const answers = new Counter({
  name: 'keyward_internal_verify_answers_total',
  help: 'Answers of the internal verification listener (VERIFY_HTTP_PORT) by HTTP status code.',
  labelNames: ['status'],
  registers: [registry],
});
const dropped = new Counter({
  name: 'keyward_internal_verify_connections_dropped_total',
  help: 'Connections the internal verification listener closed as they arrived, holding its most already.',
  registers: [registry],
});
const verifier = new KeyVerifier({
  digests: new KeyDigests(settings.keyHashSecret),
  lookup: (id, hash) =>
    new Promise((resolve, reject) => {
      const request = nextLookup++;
      // key-service answers every lookup, unless a database call of its own never returns.
      const timer = setTimeout(() => waiting(request)?.reject(unanswered()), settings.lookupTimeoutMs);
      lookups.set(request, { resolve, reject, timer });
      post({ kind: 'lookup', request, id, hash });
    }),
  report: {
    used: (keyId, at) => used.set(keyId, at),
    refused: (keyId, reason) => {
      const counted = refused.get(`${reason}:${keyId}`);
      if (counted) counted[2]++;
      else refused.set(`${reason}:${keyId}`, [keyId, reason, 1]);
    },
    answered: (result, source, seconds) => metrics.record(result, source, seconds),
  },
  failedBy: (caller) => post({ kind: 'failed', caller }),
  maxEntries: settings.cacheMaxEntries,
  failuresPerMinute: settings.failuresPerMinute,
  now: Date.now,
});

/** The lookup `request`, taken from those waiting for key-service's answer. */
function waiting(request: number) {
  const lookup = lookups.get(request);
  if (!lookup) return undefined;
  clearTimeout(lookup.timer);
  lookups.delete(request);
  return lookup;
}

const unanswered = () =>
  new ServiceUnavailableException({
    message: 'Verification is unavailable right now; please try again in a few seconds',
    retryAfterSeconds: DEPENDENCY_RETRY_AFTER_SECONDS,
  });

function report(): void {
  if (used.size === 0 && refused.size === 0) return;
  post({ kind: 'report', used: [...used], refused: [...refused.values()] });
  used = new Map();
  refused = new Map();
}

const server = createServer(
  // Node cuts a late request only with a headers timeout no longer than this (its default is 60 s),
  // and looks for them every 30 s unless told otherwise.
  {
    requestTimeout: settings.requestTimeoutMs,
    headersTimeout: settings.requestTimeoutMs,
    connectionsCheckingInterval: 1_000,
  },
  verifyRequestHandler({
    verifier,
    tokens: new TokenSet(settings.serviceTokens),
    // A 500's error is logged by key-service, under the id its answer shows.
    errors: { error: ({ err, errorId }) => post({ kind: 'request-failed', errorId, error: err }) },
    // As the public port answers the API: an answer names the key's account, which no cache may keep.
    headers: { 'cache-control': 'no-store' },
    answered: (_method, status) => answers.inc({ status: String(status) }),
  }),
);
server.maxConnections = settings.maxConnections;
server.on('drop', () => dropped.inc());
const reporting = setInterval(report, settings.reportEveryMs);

parent.on('message', (message: ToInternalListener) => {
  switch (message.kind) {
    case 'answer':
      waiting(message.request)?.resolve(message.answer);
      break;
    case 'lookup-failed':
      waiting(message.request)?.reject(new HttpException(message.failure.response, message.failure.status));
      break;
    case 'remember':
      verifier.remember(message.hash, message.answer);
      break;
    case 'forget':
      verifier.forget(message.keyId);
      break;
    case 'forget-all':
      verifier.forgetAll();
      break;
    case 'failed':
      verifier.countFailure(message.caller, message.times);
      break;
    case 'metrics':
      void registry
        .getMetricsAsJSON()
        .then((snapshot) => post({ kind: 'metrics', request: message.request, metrics: snapshot }));
      break;
    case 'close':
      clearInterval(reporting);
      // A request whose caller never finishes sending it must not hold key-service's shutdown up.
      setTimeout(() => server.closeAllConnections(), message.graceMs).unref();
      // Idle connections are closed at once; those with a request in flight once it is answered.
      server.close(() => {
        report();
        parent.close();
      });
      break;
  }
});

// Not listening (the port taken) is an unhandled 'error': the worker ends with it, which key-service reports.
server.listen(settings.port, settings.host, () => post({ kind: 'listening', threadId: linuxThreadId() }));
