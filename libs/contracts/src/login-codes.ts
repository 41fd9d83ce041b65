import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { seal, unseal } from './sealing';
import { parseMessage } from './validation';

/**
 * key-service → notification-service: email this one-time login code. The code is a secret, so it
 * crosses Kafka sealed (AES-256-GCM under LOGIN_CODE_SEALING_KEY, shared by the two services);
 * only the email itself shows it.
 */
export const LOGIN_CODE_REQUESTED = 'LoginCodeRequested';
export const LOGIN_CODE_VERSION = 1;

export const loginCodeRequestedSchema = z
  .object({
    eventId: z.string().uuid(),
    type: z.literal(LOGIN_CODE_REQUESTED),
    version: z.literal(LOGIN_CODE_VERSION),
    occurredAt: z.string().datetime({ offset: true }),
    email: z.string().email(),
    timeZone: z.string().min(1),
    expiresAt: z.string().datetime({ offset: true }),
    /** base64url(iv ‖ ciphertext ‖ tag) of the code. */
    sealedCode: z.string().min(1),
  })
  .strict();

export type LoginCodeRequested = z.infer<typeof loginCodeRequestedSchema>;

/** Opens a sealed code; throws InvalidMessageError when it was sealed under another key or altered. */
export function openLoginCode(sealedCode: string, secret: string): string {
  return unseal(sealedCode, secret, 'sealedCode', 'LOGIN_CODE_SEALING_KEY');
}

export function buildLoginCodeRequested(fields: {
  email: string;
  timeZone: string;
  expiresAt: Date;
  code: string;
  secret: string;
  occurredAt?: Date;
}): LoginCodeRequested {
  return loginCodeRequestedSchema.parse({
    eventId: randomUUID(),
    type: LOGIN_CODE_REQUESTED,
    version: LOGIN_CODE_VERSION,
    occurredAt: (fields.occurredAt ?? new Date()).toISOString(),
    email: fields.email,
    timeZone: fields.timeZone,
    expiresAt: fields.expiresAt.toISOString(),
    sealedCode: seal(fields.code, fields.secret),
  });
}

export function parseLoginCodeRequested(raw: Buffer | string | null): LoginCodeRequested {
  return parseMessage(loginCodeRequestedSchema, raw);
}
