import type { KeyVerification } from '@keyward/contracts';
import type { Cacheable } from '@keyward/key-client';
import type { MetricObjectWithValues, MetricValue } from 'prom-client';

/** What the internal listener's worker is started with (workerData): never logged. */
export interface InternalListenerSettings {
  port: number;
  host: string;
  keyHashSecret: string;
  serviceTokens: string[];
  cacheMaxEntries: number;
  failuresPerMinute: number;
  /** How often the worker hands key-service what it verified (lastUsedAt, refusals). */
  reportEveryMs: number;
  /** Connections its listener holds at once; more are closed as they arrive. */
  maxConnections: number;
  /** How long a request's headers and body may take to arrive. */
  requestTimeoutMs: number;
  /** How long a lookup waits for key-service's answer before the verification is answered 503. */
  lookupTimeoutMs: number;
}

/**
 * Why a lookup failed, as the worker answers it (answerableError's HttpException, by the arguments
 * it is made with): a 503 (database unreachable) or a 500 with its logged id.
 */
export interface LookupFailure {
  status: number;
  response: string | Record<string, unknown>;
}

/** A revoked or expired key refused `times` times since the last report. */
export type Refusal = [keyId: string, reason: 'revoked' | 'expired', times: number];

/** key-service → the internal listener's worker. */
export type ToInternalListener =
  | { kind: 'answer'; request: number; answer: Cacheable<KeyVerification> }
  | { kind: 'lookup-failed'; request: number; failure: LookupFailure }
  | { kind: 'remember'; hash: string; answer: Cacheable<KeyVerification> }
  | { kind: 'forget'; keyId: string }
  | { kind: 'forget-all' }
  /** Failed verifications of this caller answered by key-service: they count against the same budget. */
  | { kind: 'failed'; caller: string; times: number }
  | { kind: 'metrics'; request: number }
  /** Stop listening, finish the requests held (cutting those still running after graceMs), report, end. */
  | { kind: 'close'; graceMs: number };

/** The internal listener's worker → key-service. */
export type FromInternalListener =
  /** Listening, on the thread with this Linux thread id (none elsewhere). */
  | { kind: 'listening'; threadId?: number }
  | { kind: 'lookup'; request: number; id: string; hash: string }
  /** A failed verification of this caller answered here: key-service counts it against the same budget. */
  | { kind: 'failed'; caller: string }
  | { kind: 'report'; used: [keyId: string, atMs: number][]; refused: Refusal[] }
  | { kind: 'metrics'; request: number; metrics: MetricObjectWithValues<MetricValue<string>>[] }
  | { kind: 'request-failed'; errorId: string; error: unknown };
