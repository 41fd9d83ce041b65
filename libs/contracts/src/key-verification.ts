import { z } from 'zod';
import { InvalidMessageError, validate } from './validation';
import { seal, SealingKey, sealedKeyId, unseal } from './sealing';

/**
 * Internal service → key-service over Kafka request/reply (topic Topic.KeyVerify, replies on
 * Topic.KeyVerifyReply): is this key valid? Anyone who can write those topics is treated as an
 * attacker, so:
 * - each caller has its own 32-byte key with an id (KEY_VERIFY_CALLERS in key-service; one or
 *   more per caller, for rotation) and seals the key it asks about under it, so no caller can read
 *   another's requests, and key-service answers only callers whose key id it holds;
 * - the reply is sealed under the asking caller's key too, so only key-service can write an
 *   answer the caller believes, and only that caller can read it;
 * - both are bound (associated data) to the request id (Nest's correlation id), the topic they
 *   travel on and their time, and expire after KEY_VERIFY_MAX_AGE_MS: a reply replayed to
 *   another request, moved to another topic, or kept back does not open.
 * The answer inside is the same shape as `POST /v1/keys/verify`.
 *
 * Version 2 brought all of this; version 1 (one key shared by every caller, replies in clear) is
 * refused, not read: requests and replies are worth nothing after their 5-second timeout, so
 * nothing of version 1 left in the topics at an upgrade is worth answering.
 */
export const KEY_VERIFY_VERSION = 2;
/** Requests and replies older than this are dropped: whoever asked has long given up. */
export const KEY_VERIFY_MAX_AGE_MS = 30_000;
/** How far ahead of the reader's clock the writer's may run. */
const CLOCK_SKEW_MS = 5_000;

const versionTwo = z.literal(KEY_VERIFY_VERSION, {
  errorMap: () => ({ message: `only version ${KEY_VERIFY_VERSION} (sealed per caller, replies sealed) is accepted` }),
});

export const keyVerifyRequestSchema = z
  .object({
    version: versionTwo,
    /** Also the request's Kafka correlation id: the reply is bound to it. */
    requestId: z.string().uuid(),
    issuedAt: z.string().datetime({ offset: true }),
    /** The key, sealed under the caller's key (`<keyId>.<base64url>`). */
    sealedKey: z.string().min(1).max(1024),
  })
  .strict();
export type KeyVerifyRequest = z.infer<typeof keyVerifyRequestSchema>;

export const keyVerifyReplySchema = z
  .object({
    version: versionTwo,
    repliedAt: z.string().datetime({ offset: true }),
    /** The KeyVerification as JSON, sealed under the asking caller's key. */
    sealedVerification: z.string().min(1).max(4096),
  })
  .strict();
export type KeyVerifyReply = z.infer<typeof keyVerifyReplySchema>;

export const KEY_INVALID_REASONS = ['unknown', 'expired', 'revoked'] as const;
export type KeyInvalidReason = (typeof KEY_INVALID_REASONS)[number];

export const keyVerificationSchema = z.discriminatedUnion('valid', [
  z
    .object({
      valid: z.literal(true),
      keyId: z.string().min(1),
      /** The owner's user id. */
      owner: z.string().min(1),
      label: z.string().min(1),
      expiresAt: z.string().datetime({ offset: true }),
    })
    .strict(),
  z.object({ valid: z.literal(false), reason: z.enum(KEY_INVALID_REASONS) }).strict(),
]);
export type KeyVerification = z.infer<typeof keyVerificationSchema>;
export type ValidKey = Extract<KeyVerification, { valid: true }>;

/** Key events after which a cached verification of that key may be wrong. */
export const KEY_EVENTS_INVALIDATING_VERIFICATION = [
  'KeyRevoked',
  'KeyExpired',
  'KeyRotated',
  'KeyContactsChanged',
] as const;

/** Where a sealed value is bound: what it is, the topic it travels on, the request and the time. */
interface Binding {
  /** The topic the message is written to (with any namespace). */
  topic: string;
  requestId: string;
}

const requestBinding = (b: Binding, issuedAt: string) => ['KeyVerifyRequest', '2', b.topic, b.requestId, issuedAt];
const replyBinding = (b: Binding, repliedAt: string) => ['KeyVerifyReply', '2', b.topic, b.requestId, repliedAt];

function checkFresh(at: string, now: Date, field: string): void {
  const age = now.getTime() - Date.parse(at);
  if (age > KEY_VERIFY_MAX_AGE_MS) throw new InvalidMessageError(`${field}: older than ${KEY_VERIFY_MAX_AGE_MS} ms`);
  if (age < -CLOCK_SKEW_MS) throw new InvalidMessageError(`${field}: ahead of this service's clock`);
}

/** A caller's request, sealed under its own (current) key. */
export function buildKeyVerifyRequest(
  key: string,
  to: Binding & { callerKey: SealingKey; now: Date },
): KeyVerifyRequest {
  const issuedAt = to.now.toISOString();
  return {
    version: KEY_VERIFY_VERSION,
    requestId: to.requestId,
    issuedAt,
    sealedKey: seal(key, to.callerKey, requestBinding(to, issuedAt)),
  };
}

/**
 * key-service's side: validates a request, checks it is fresh and that its correlation id is its
 * request id, and opens its key with the caller key it names. Throws InvalidMessageError with a
 * readable reason (an unknown key id, an altered or moved request, a stale one).
 */
export function openKeyVerifyRequest(
  data: unknown,
  at: { topic: string; correlationId: string; callers: readonly SealingKey[]; now: Date },
): { key: string; requestId: string; callerKey: SealingKey } {
  const request = validate(keyVerifyRequestSchema, data);
  if (request.requestId !== at.correlationId)
    throw new InvalidMessageError('requestId: differs from the correlation id the reply would carry');
  checkFresh(request.issuedAt, at.now, 'issuedAt');
  const binding = { topic: at.topic, requestId: request.requestId };
  const key = unseal(request.sealedKey, at.callers, requestBinding(binding, request.issuedAt), 'sealedKey');
  const callerKey = at.callers.find((k) => k.id === sealedKeyId(request.sealedKey)) as SealingKey;
  return { key, requestId: request.requestId, callerKey };
}

/** key-service's answer, sealed under the key the request was sealed with and bound to that request. */
export function sealKeyVerification(
  verification: KeyVerification,
  to: Binding & { callerKey: SealingKey; now: Date },
): KeyVerifyReply {
  const repliedAt = to.now.toISOString();
  return {
    version: KEY_VERIFY_VERSION,
    repliedAt,
    sealedVerification: seal(JSON.stringify(verification), to.callerKey, replyBinding(to, repliedAt)),
  };
}

/**
 * The caller's side: the answer to its request `requestId`, read from `topic`. Throws
 * InvalidMessageError for anything key-service did not seal for exactly this request: a forged,
 * altered, replayed or stale reply is never an answer.
 */
export function openKeyVerification(
  data: unknown,
  at: Binding & { callerKeys: readonly SealingKey[]; now: Date },
): KeyVerification {
  const reply = validate(keyVerifyReplySchema, data);
  checkFresh(reply.repliedAt, at.now, 'repliedAt');
  const text = unseal(reply.sealedVerification, at.callerKeys, replyBinding(at, reply.repliedAt), 'sealedVerification');
  return parseKeyVerification(JSON.parse(text));
}

/** Validates an answer from key-service; throws InvalidMessageError with a readable reason. */
export function parseKeyVerification(data: unknown): KeyVerification {
  return validate(keyVerificationSchema, data);
}
