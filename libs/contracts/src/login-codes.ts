import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { emailAddress } from './fields';
import { seal, sealingKeyFromSecret, unseal } from './sealing';
import { parseMessage } from './validation';

/**
 * key-service → notification-service: email this one-time login code. The code is a secret, so it
 * crosses Kafka sealed (AES-256-GCM under LOGIN_CODE_SEALING_KEY, shared by the two services);
 * only the email itself shows it. The seal binds the code to this message's recipient, event id
 * and expiry, so a Kafka writer who copies it into a message addressed to itself gets a code that
 * does not open.
 *
 * Version 2 added that binding. Version 1 messages are refused, not read: reading them would
 * accept exactly the re-addressed codes the binding exists to stop, and a code lives 10 minutes,
 * so the few in flight at an upgrade are simply requested again (docs/SECURITY.md, "Kafka").
 */
/** The login-code sealing secret of development and tests (public: refused unless NODE_ENV is development or test); both services must agree on it. */
export const DEV_LOGIN_CODE_SEALING_KEY = 'keyward-local-development-only-login-code-key';

export const LOGIN_CODE_REQUESTED = 'LoginCodeRequested';
export const LOGIN_CODE_VERSION = 2;

export const loginCodeRequestedSchema = z
  .object({
    eventId: z.string().uuid(),
    type: z.literal(LOGIN_CODE_REQUESTED),
    version: z.literal(LOGIN_CODE_VERSION, {
      errorMap: () => ({ message: `only version ${LOGIN_CODE_VERSION} (the code bound to its recipient) is accepted` }),
    }),
    occurredAt: z.string().datetime({ offset: true }),
    email: emailAddress,
    timeZone: z.string().min(1),
    expiresAt: z.string().datetime({ offset: true }),
    /** `<keyId>.<base64url(iv ‖ ciphertext ‖ tag)>` of the code (libs/contracts/src/sealing.ts). */
    sealedCode: z.string().min(1).max(256),
  })
  .strict();

export type LoginCodeRequested = z.infer<typeof loginCodeRequestedSchema>;

/**
 * key-service → notification-service, on the login-codes topic: email this one-time code that
 * confirms closing the account of `email`. Sealed like a login code, and bound to its own type, so
 * neither message can be turned into the other: a closure code never signs anyone in, and a login
 * code never closes an account.
 */
export const ACCOUNT_CLOSURE_CODE_REQUESTED = 'AccountClosureCodeRequested';
export const ACCOUNT_CLOSURE_CODE_VERSION = 1;

export const accountClosureCodeRequestedSchema = loginCodeRequestedSchema.extend({
  type: z.literal(ACCOUNT_CLOSURE_CODE_REQUESTED),
  version: z.literal(ACCOUNT_CLOSURE_CODE_VERSION),
});

export type AccountClosureCodeRequested = z.infer<typeof accountClosureCodeRequestedSchema>;

/** Either message of the login-codes topic: a code emailed to the address it is for. */
export type OneTimeCodeRequested = LoginCodeRequested | AccountClosureCodeRequested;

const oneTimeCodeSchema = z.discriminatedUnion('type', [loginCodeRequestedSchema, accountClosureCodeRequestedSchema]);

/** What the sealed code is bound to: opening it in any other message fails. */
const boundTo = (message: Pick<OneTimeCodeRequested, 'type' | 'version' | 'eventId' | 'email' | 'expiresAt'>) => [
  message.type,
  String(message.version),
  message.eventId,
  message.email,
  message.expiresAt,
];

/** Opens a message's code; throws InvalidMessageError when it was sealed under another key, altered or re-addressed. */
export function openLoginCode(message: OneTimeCodeRequested, secret: string): string {
  return unseal(message.sealedCode, [sealingKeyFromSecret(secret)], boundTo(message), 'sealedCode');
}

interface SealedCodeFields {
  email: string;
  timeZone: string;
  expiresAt: Date;
  code: string;
  secret: string;
  occurredAt?: Date;
}

export function buildLoginCodeRequested(fields: SealedCodeFields): LoginCodeRequested {
  return buildSealedCodeMessage(LOGIN_CODE_REQUESTED, LOGIN_CODE_VERSION, loginCodeRequestedSchema, fields);
}

export function buildAccountClosureCodeRequested(fields: SealedCodeFields): AccountClosureCodeRequested {
  return buildSealedCodeMessage(
    ACCOUNT_CLOSURE_CODE_REQUESTED,
    ACCOUNT_CLOSURE_CODE_VERSION,
    accountClosureCodeRequestedSchema,
    fields,
  );
}

/** One emailed code, sealed and bound to the message that carries it (its type, recipient and times). */
function buildSealedCodeMessage<T>(
  type: OneTimeCodeRequested['type'],
  version: OneTimeCodeRequested['version'],
  schema: { parse(value: unknown): T },
  fields: SealedCodeFields,
): T {
  const message = {
    eventId: randomUUID(),
    type,
    version,
    occurredAt: (fields.occurredAt ?? new Date()).toISOString(),
    email: fields.email,
    timeZone: fields.timeZone,
    expiresAt: fields.expiresAt.toISOString(),
  };
  const sealedCode = seal(fields.code, sealingKeyFromSecret(fields.secret), boundTo(message));
  return schema.parse({ ...message, sealedCode });
}

export function parseLoginCodeRequested(raw: Buffer | string | null): LoginCodeRequested {
  return parseMessage(loginCodeRequestedSchema, raw);
}

/** Parses either message of the login-codes topic; throws InvalidMessageError with a readable reason. */
export function parseOneTimeCodeRequested(raw: Buffer | string | null): OneTimeCodeRequested {
  return parseMessage(oneTimeCodeSchema, raw);
}
