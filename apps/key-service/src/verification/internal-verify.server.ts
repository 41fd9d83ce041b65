import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { KeyVerification } from '@keyward/contracts';
import type { Cacheable } from '@keyward/key-client';
import { MetricsSnapshot, WorkerMetrics } from '@keyward/metrics';
import { answerableError } from '@keyward/platform';
import { getPriority, setPriority } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { AggregatorRegistry } from 'prom-client';
import { VerificationFailuresRecorder } from '../activity/verification-failures.recorder';
import { KeyServiceSettings } from '../config/key-service.env';
import type {
  FromInternalListener,
  InternalListenerSettings,
  LookupFailure,
  ToInternalListener,
} from './internal-verify.messages';
import { LastUsedRecorder } from './last-used.recorder';
import { VerifierFollower, VerificationService } from './verification.service';
import { VerifyThreadPriority } from './verify-thread-priority';

const WORKER_FILE = join(__dirname, 'internal-verify.worker.js');
/** The main thread's nice value once the worker runs: a share of a contended core about a third of the worker's. */
const MAIN_THREAD_NICE = 5;
/** A worker that ended unexpectedly is started again after this long (its cache starts empty). */
const RESTART_DELAY_MS = 1_000;
/** A scrape does not wait longer than this for the worker's metrics. */
const METRICS_TIMEOUT_MS = 1_000;
/**
 * Connections the worker's listener holds at once (more are closed as they arrive): each costs its
 * heap a few KiB, so a flood of idle or slow connections would otherwise end it (docs/SECURITY.md).
 */
export const MAX_CONNECTIONS = 2048;
/** A request's headers and body must have arrived by then: a slow sender does not keep its connection. */
const REQUEST_TIMEOUT_MS = 10_000;
/**
 * A lookup not answered by then is answered 503 by the worker: longer than a lookup takes when the
 * database is unreachable (this side answers 503 itself then), so only a call that never returns.
 */
const LOOKUP_TIMEOUT_MS = 15_000;
/** At shutdown, requests the worker holds are cut after this long. */
const CLOSE_GRACE_MS = 5_000;
/** A worker not ended this long after its grace is stuck (its event loop blocked) and is terminated. */
const STUCK_AFTER_MS = CLOSE_GRACE_MS + 2_000;

/**
 * The worker's heap, sized for the most it holds beside its HTTP server: VERIFY_CACHE_MAX_ENTRIES cached
 * answers (under 1 KiB each with their index: a hash, two ids, a label of at most 64 characters)
 * and MAX_CONNECTIONS connections reading a body (under 8 KiB each). Past it the worker ends
 * (ERR_WORKER_OUT_OF_MEMORY). Its young generation stays small, so that its scavenges are cheap.
 */
export function workerHeap(cacheMaxEntries: number): {
  maxOldGenerationSizeMb: number;
  maxYoungGenerationSizeMb: number;
} {
  const held = cacheMaxEntries * 1024 + MAX_CONNECTIONS * 8192;
  return { maxOldGenerationSizeMb: 32 + Math.ceil(held / 2 ** 20), maxYoungGenerationSizeMb: 16 };
}

/**
 * Lowers this (the main) thread's scheduling priority below the worker's, which it started at its
 * own: when key creation and verification want the same core, the verification runs first and
 * its latency does not follow the main thread's load (bench/RESULTS.md, "mixed"). Lowering is never
 * refused; on Linux a thread's nice value is its own, so only the main thread is moved (elsewhere
 * it moves the process, which only loses the gain).
 */
function yieldToVerification(): void {
  setPriority(Math.max(getPriority(), MAIN_THREAD_NICE));
}

/**
 * `POST /v1/keys/verify` on an internal listener of its own (VERIFY_HTTP_PORT), for internal
 * services that verify on every request they serve, run in a worker thread
 * (internal-verify.worker.ts). This side starts it (again, should it end), answers its lookups from
 * the database, passes it every drop of a cached answer (it follows VerificationService), records
 * what it verified and merges its metrics into `GET /metrics`. An internal port need not be
 * reachable from outside at all.
 */
@Injectable()
export class InternalVerifyServer implements OnApplicationBootstrap, OnApplicationShutdown, VerifierFollower {
  private readonly logger = new Logger(InternalVerifyServer.name);
  private readonly settings: InternalListenerSettings;
  private readonly realTime: boolean;
  private worker?: Worker;
  private closing = false;
  private readonly metricRequests = new Map<number, (snapshot: MetricsSnapshot) => void>();
  private nextMetricRequest = 0;
  /** The running worker's metrics at its last answer: they stand in for a scrape it does not answer. */
  private lastMetrics?: MetricsSnapshot;
  /** What the workers that ended had counted at their last answer: a restart sets no counter back. */
  private endedMetrics?: MetricsSnapshot;

  constructor(
    private readonly verification: VerificationService,
    private readonly lastUsed: LastUsedRecorder,
    private readonly refusals: VerificationFailuresRecorder,
    private readonly workerMetrics: WorkerMetrics,
    settings: KeyServiceSettings,
  ) {
    this.settings = {
      port: settings.VERIFY_HTTP_PORT,
      host: settings.VERIFY_HTTP_HOST,
      keyHashSecret: settings.KEY_HASH_SECRET,
      serviceTokens: settings.VERIFY_SERVICE_TOKENS,
      cacheMaxEntries: settings.VERIFY_CACHE_MAX_ENTRIES,
      failuresPerMinute: settings.VERIFY_FAILURES_PER_MINUTE,
      reportEveryMs: Math.min(settings.LAST_USED_FLUSH_MS, 1_000),
      maxConnections: MAX_CONNECTIONS,
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
      lookupTimeoutMs: LOOKUP_TIMEOUT_MS,
    };
    this.realTime = settings.VERIFY_THREAD_PRIORITY === 'realtime';
  }

  /** Runs after VerificationService joined the key events: no drop is missed once the worker caches. */
  async onApplicationBootstrap(): Promise<void> {
    if (this.settings.port === 0) return;
    this.verification.follow(this);
    this.workerMetrics.add(() => this.metrics());
    this.workerMetrics.add(() => Promise.resolve(this.endedMetrics));
    const realTime = await this.start();
    yieldToVerification();
    this.logger.log(
      `internal verification listening on ${this.settings.host}:${this.settings.port} (worker thread${realTime ? ', real-time priority' : ''})`,
    );
  }

  /**
   * Lets the worker finish the requests it holds (those still running after CLOSE_GRACE_MS are cut)
   * and hand over what it verified, then records that. A worker that does not end is terminated,
   * losing what it verified since its last report (at most a second's lastUsedAt), so that it
   * cannot hold key-service's shutdown past an orchestrator's grace period.
   */
  async onApplicationShutdown(): Promise<void> {
    this.closing = true;
    const worker = this.worker;
    if (!worker) return;
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    this.send({ kind: 'close', graceMs: CLOSE_GRACE_MS });
    const stuck = setTimeout(() => {
      this.logger.error(`the internal verification listener did not end within ${STUCK_AFTER_MS} ms; terminating it`);
      void worker.terminate();
    }, STUCK_AFTER_MS);
    await exited;
    clearTimeout(stuck);
    await Promise.all([this.lastUsed.flush(), this.refusals.flush()]);
  }

  remember(hash: string, answer: Cacheable<KeyVerification>): void {
    this.send({ kind: 'remember', hash, answer });
  }

  forget(keyId: string): void {
    this.send({ kind: 'forget', keyId });
  }

  forgetAll(): void {
    this.send({ kind: 'forget-all' });
  }

  failed(caller: string): void {
    this.send({ kind: 'failed', caller, times: 1 });
  }

  /** Starts a worker; resolves once it listens, with whether it runs at real-time priority. */
  private start(): Promise<boolean> {
    const worker = new Worker(WORKER_FILE, {
      workerData: this.settings,
      resourceLimits: workerHeap(this.settings.cacheMaxEntries),
    });
    this.worker = worker;
    // A worker started again spends what is left of each caller's budget, not a new one.
    for (const [caller, times] of this.verification.failuresSpent()) this.send({ kind: 'failed', caller, times });
    return new Promise((resolve, reject) => {
      let listening = false;
      let priority: VerifyThreadPriority | undefined;
      worker.on('message', (message: FromInternalListener) => {
        if (message.kind === 'listening') {
          listening = true;
          priority = this.realTime ? new VerifyThreadPriority(worker, message.threadId) : undefined;
          resolve(priority?.start() ?? false);
        } else this.handle(worker, message);
      });
      worker.on('error', (error) => {
        if (listening) this.logger.error({ err: error }, 'the internal verification listener failed');
        else reject(error);
      });
      worker.on('exit', (code) => {
        priority?.stop();
        if (this.worker === worker) this.worker = undefined;
        if (!listening) return reject(new Error(`the internal verification listener ended (${code}) before listening`));
        if (this.closing) return;
        this.logger.error(`the internal verification listener ended (${code}); starting it again`);
        void this.keepCountsOfEnded();
        this.startAgain();
      });
    });
  }

  /** Starts a worker after RESTART_DELAY_MS, and again after each one that fails to listen. */
  private startAgain(): void {
    setTimeout(() => {
      if (this.closing) return;
      this.start().catch((error: unknown) => {
        this.logger.error({ err: error }, 'could not start the internal verification listener again');
        this.startAgain();
      });
    }, RESTART_DELAY_MS).unref();
  }

  private handle(worker: Worker, message: FromInternalListener): void {
    switch (message.kind) {
      case 'lookup':
        this.verification.lookup(message.id, message.hash).then(
          (answer) =>
            worker.postMessage({ kind: 'answer', request: message.request, answer } satisfies ToInternalListener),
          (error: unknown) =>
            worker.postMessage({
              kind: 'lookup-failed',
              request: message.request,
              failure: this.failureOf(error),
            } satisfies ToInternalListener),
        );
        break;
      case 'report':
        for (const [keyId, at] of message.used) this.lastUsed.record(keyId, new Date(at));
        for (const [keyId, reason, times] of message.refused) this.refusals.record(keyId, reason, times);
        break;
      case 'metrics':
        this.metricRequests.get(message.request)?.(message.metrics);
        this.metricRequests.delete(message.request);
        break;
      case 'failed':
        this.verification.countFailure(message.caller);
        break;
      case 'request-failed':
        this.logger.error({ err: message.error, errorId: message.errorId }, `request failed ${message.errorId}`);
        break;
    }
  }

  /** A lookup's failure as the worker answers it: 503 when the database is unreachable, else a logged 500. */
  private failureOf(error: unknown): LookupFailure {
    const exception = answerableError(error, this.logger);
    return { status: exception.getStatus(), response: exception.getResponse() as LookupFailure['response'] };
  }

  /**
   * The worker's metrics for a scrape; its last answer when it does not answer in time (busy, or
   * being started again), so that its counts do not drop out of a scrape and come back.
   */
  private metrics(): Promise<MetricsSnapshot | undefined> {
    const request = this.nextMetricRequest++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.metricRequests.delete(request);
        resolve(this.lastMetrics);
      }, METRICS_TIMEOUT_MS);
      this.metricRequests.set(request, (snapshot) => {
        clearTimeout(timer);
        resolve((this.lastMetrics = snapshot));
      });
      this.send({ kind: 'metrics', request });
    });
  }

  /**
   * Adds the last metrics of a worker that ended to those of the workers before it: their sum with
   * the next worker's keeps every counter from going back (what it counted after its last scrape is lost).
   */
  private async keepCountsOfEnded(): Promise<void> {
    const last = this.lastMetrics;
    this.lastMetrics = undefined;
    if (!last) return;
    const ended = this.endedMetrics ? [this.endedMetrics, last] : [last];
    this.endedMetrics = await AggregatorRegistry.aggregate(ended).getMetricsAsJSON();
  }

  private send(message: ToInternalListener): void {
    this.worker?.postMessage(message);
  }
}
