import { z } from 'zod';
import { validate } from './validation';
import { seal, unseal } from './sealing';

/**
 * Internal service → key-service over Kafka request/reply (topic Topic.KeyVerify, replies on
 * Topic.KeyVerifyReply): is this key valid? The key is a secret and Kafka keeps what it carries,
 * so it crosses sealed (AES-256-GCM under KEY_VERIFY_SEALING_KEY, shared by key-service and its
 * internal callers). The answer is the same shape as `POST /v1/keys/verify`.
 */
export const KEY_VERIFY_VERSION = 1;

export const keyVerifyRequestSchema = z
  .object({
    version: z.literal(KEY_VERIFY_VERSION),
    /** base64url(iv ‖ ciphertext ‖ tag) of the key. */
    sealedKey: z.string().min(1).max(1024),
  })
  .strict();
export type KeyVerifyRequest = z.infer<typeof keyVerifyRequestSchema>;

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

export function buildKeyVerifyRequest(key: string, secret: string): KeyVerifyRequest {
  return { version: KEY_VERIFY_VERSION, sealedKey: seal(key, secret) };
}

/** Validates a request and opens its key; throws InvalidMessageError with a readable reason. */
export function openKeyVerifyRequest(data: unknown, secret: string): string {
  const request = validate(keyVerifyRequestSchema, data);
  return unseal(request.sealedKey, secret, 'sealedKey', 'KEY_VERIFY_SEALING_KEY');
}

/** Validates an answer from key-service; throws InvalidMessageError with a readable reason. */
export function parseKeyVerification(data: unknown): KeyVerification {
  return validate(keyVerificationSchema, data);
}
