import { createCipheriv, createDecipheriv, createHash, randomBytes, randomUUID } from 'node:crypto';
import { z } from 'zod';
import { formatIssues, InvalidMessageError } from './key-events';

/**
 * key-service → notification-service: email this one-time login code. The code is a secret, so it
 * crosses Kafka sealed (AES-256-GCM under LOGIN_CODE_SEALING_KEY, shared by the two services);
 * only the email itself shows it.
 */
export const LOGIN_CODE_REQUESTED = 'LoginCodeRequested';
export const LOGIN_CODE_VERSION = 1;

const loginCodeRequestedSchema = z
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

const sealingKey = (secret: string) => createHash('sha256').update(secret).digest();

export function sealLoginCode(code: string, secret: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', sealingKey(secret), iv);
  const sealed = Buffer.concat([iv, cipher.update(code, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return sealed.toString('base64url');
}

/** Opens a sealed code; throws InvalidMessageError when it was sealed under another key or altered. */
export function openLoginCode(sealedCode: string, secret: string): string {
  const sealed = Buffer.from(sealedCode, 'base64url');
  if (sealed.length < 12 + 16 + 1) throw new InvalidMessageError('sealedCode: too short');
  try {
    const decipher = createDecipheriv('aes-256-gcm', sealingKey(secret), sealed.subarray(0, 12));
    decipher.setAuthTag(sealed.subarray(sealed.length - 16));
    return Buffer.concat([decipher.update(sealed.subarray(12, sealed.length - 16)), decipher.final()]).toString('utf8');
  } catch {
    throw new InvalidMessageError('sealedCode: cannot be opened with this service’s LOGIN_CODE_SEALING_KEY');
  }
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
    sealedCode: sealLoginCode(fields.code, fields.secret),
  });
}

export function parseLoginCodeRequested(raw: Buffer | string | null): LoginCodeRequested {
  if (raw === null) throw new InvalidMessageError('empty message');
  let json: unknown;
  try {
    json = JSON.parse(raw.toString());
  } catch {
    throw new InvalidMessageError('not JSON');
  }
  const result = loginCodeRequestedSchema.safeParse(json);
  if (!result.success) throw new InvalidMessageError(formatIssues(result.error));
  return result.data;
}
