import { z } from 'zod';
import { checkKafkaSecurity, kafkaEnv } from '@keyward/kafka';
import { mongoEnv } from '@keyward/mongo';
import {
  developmentDefaultsOnlyInDevelopment,
  envBoolean,
  envDuration,
  httpEnv,
  isDevelopment,
  platformEnv,
  runtimeEnv,
} from '@keyward/platform';
import { settingsOf } from '@keyward/settings';
import {
  DEV_KEY_EVENTS_SIGNING_KEY,
  DEV_LOGIN_CODE_SEALING_KEY,
  keyEntriesSetting,
  parseSigningKey,
  parseVerifyKey,
  timeZoneName,
} from '@keyward/contracts';
import { parseStages } from '../schedule/reminder-schedule';
import { leakSecretsSet, leaksEnv } from './leaks.env';
import { verificationEnv, verificationSecretsSet } from './verification.env';

const DEV_KEY_HASH_SECRET = 'keyward-local-development-only-secret-change-me';

export const keyServiceEnv = z
  .object({
    SERVICE_NAME: z.string().default('key-service'),
    ...runtimeEnv,
    ...platformEnv,
    ...httpEnv(3000),
    ...kafkaEnv,
    ...mongoEnv,
    /** HMAC secret for key hashes. Changing it invalidates every stored key. */
    KEY_HASH_SECRET: z.string().min(32, 'must be at least 32 characters').default(DEV_KEY_HASH_SECRET),
    /** Seals login codes on their way to notification-service (which must share it). */
    LOGIN_CODE_SEALING_KEY: z.string().min(32, 'must be at least 32 characters').default(DEV_LOGIN_CODE_SEALING_KEY),
    /** The key that signs every key event, `id:base64 PKCS#8 DER` (Ed25519); consumers hold its public half. */
    KEY_EVENTS_SIGNING_KEY: z
      .string()
      .default(DEV_KEY_EVENTS_SIGNING_KEY)
      .superRefine((entry, ctx) => {
        try {
          parseSigningKey(entry);
        } catch (error) {
          ctx.addIssue({ code: z.ZodIssueCode.custom, message: (error as Error).message });
        }
      }),
    /** Earlier signing keys' public halves, `id:base64 SPKI DER,…`, still believed while their events drain. */
    KEY_EVENTS_VERIFY_KEYS: keyEntriesSetting('', parseVerifyKey, 0),
    KEY_VALIDITY_MONTHS: z.coerce.number().int().min(1).max(60).default(6),
    KEY_MAX_ACTIVE_PER_OWNER: z.coerce.number().int().min(1).max(1000).default(20),
    /** Key changes (create, rotate, revoke, contacts) one account may make per hour: bounds the emails they send. */
    KEY_CHANGES_PER_HOUR: z.coerce.number().int().min(1).max(10_000).default(30),
    DEFAULT_TIME_ZONE: timeZoneName.default('Asia/Singapore'),
    /** How often the outbox relay looks for unpublished events when no write has nudged it. */
    OUTBOX_POLL_MS: z.coerce.number().int().min(10).max(60_000).default(500),
    /** Reminder stages in days before expiry, e.g. "30,14,7,3,1"; each is sent once per key. */
    REMINDER_STAGES_DAYS: z
      .string()
      .default('30,14,7,3,1')
      .transform((text, ctx) => {
        try {
          return parseStages(text);
        } catch (error) {
          ctx.addIssue({ code: z.ZodIssueCode.custom, message: (error as Error).message });
          return z.NEVER;
        }
      }),
    /** `Secure` session cookies (HTTPS only); on unless NODE_ENV is development or test. */
    SESSION_COOKIE_SECURE: envBoolean.optional(),
    /** Strict-Transport-Security on every response: on unless NODE_ENV is development or test. */
    HSTS: envBoolean.optional(),
    /** The OpenAPI UI and document at /docs; off unless NODE_ENV is development or test. */
    SWAGGER_UI: envBoolean.optional(),
    ...verificationEnv,
    ...leaksEnv,
    /**
     * How long a closed account's keys are kept, stripped to their hash and status, so that
     * verifying one answers `revoked` rather than `unknown` (`90d`, `12h`…); then they are deleted.
     */
    CLOSED_ACCOUNT_KEYS_RETENTION: envDuration.default('90d'),
    /** How often interrupted account closures are finished and closed accounts' keys past retention deleted. */
    CLOSED_ACCOUNTS_SWEEP_MS: z.coerce.number().int().min(100).max(86_400_000).default(300_000),
    /** How long the activity of keys is kept. */
    ACTIVITY_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(400),
    /** How often refused verifications of revoked and expired keys are added to their activity. */
    ACTIVITY_FAILURES_FLUSH_MS: z.coerce.number().int().min(10).max(3_600_000).default(60_000),
  })
  .superRefine(checkKafkaSecurity)
  .superRefine(
    developmentDefaultsOnlyInDevelopment({
      KEY_HASH_SECRET: DEV_KEY_HASH_SECRET,
      LOGIN_CODE_SEALING_KEY: DEV_LOGIN_CODE_SEALING_KEY,
      KEY_EVENTS_SIGNING_KEY: DEV_KEY_EVENTS_SIGNING_KEY,
    }),
  )
  .refine(verificationSecretsSet, {
    path: ['VERIFY_SERVICE_TOKENS'],
    message:
      'VERIFY_SERVICE_TOKENS and KEY_VERIFY_CALLERS must be set unless NODE_ENV is development or test (the development defaults are public)',
  })
  .refine(leakSecretsSet, {
    path: ['LEAK_SCANNER_PUBLIC_KEYS'],
    message:
      'LEAK_SCANNER_PUBLIC_KEYS and LEAK_REPORTER_TOKENS must be set unless NODE_ENV is development or test (the test key pair and the development token are public)',
  })
  .transform((env) => {
    const production = !isDevelopment(env);
    return {
      ...env,
      SESSION_COOKIE_SECURE: env.SESSION_COOKIE_SECURE ?? production,
      SWAGGER_UI: env.SWAGGER_UI ?? !production,
      HSTS: env.HSTS ?? production,
    };
  });

export type KeyServiceEnv = z.infer<typeof keyServiceEnv>;

/** key-service's settings, typed, as validated at start-up. */
export class KeyServiceSettings extends settingsOf(keyServiceEnv) {}
