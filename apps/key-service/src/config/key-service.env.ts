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
import { DEVELOPMENT_SECRET, settingsOf, withDefaultNote } from '@keyward/settings';
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
const PRODUCTION_ON = 'production: true; development: false';

export const keyServiceEnv = z
  .object({
    SERVICE_NAME: z.string().default('key-service').describe('The service’s name in logs and Kafka client ids'),
    ...runtimeEnv,
    ...platformEnv,
    ...httpEnv(3000),
    ...kafkaEnv,
    ...mongoEnv,
    KEY_HASH_SECRET: withDefaultNote(
      z
        .string()
        .min(32, 'must be at least 32 characters')
        .default(DEV_KEY_HASH_SECRET)
        .describe('HMAC secret of key hashes (also keys CSRF tokens); changing it invalidates every stored key'),
      DEVELOPMENT_SECRET,
    ),
    LOGIN_CODE_SEALING_KEY: withDefaultNote(
      z
        .string()
        .min(32, 'must be at least 32 characters')
        .default(DEV_LOGIN_CODE_SEALING_KEY)
        .describe('Seals login codes on their way to notification-service: the same value in both'),
      DEVELOPMENT_SECRET,
    ),
    KEY_EVENTS_SIGNING_KEY: withDefaultNote(
      z
        .string()
        .default(DEV_KEY_EVENTS_SIGNING_KEY)
        .describe(
          'Signs every key event: `id:base64 PKCS#8 DER` of an Ed25519 key (`openssl genpkey -algorithm ed25519 -outform DER | base64 -w0`); consumers hold its public half',
        ),
      DEVELOPMENT_SECRET,
    ).superRefine((entry, ctx) => {
      try {
        parseSigningKey(entry);
      } catch (error) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: (error as Error).message });
      }
    }),
    KEY_EVENTS_VERIFY_KEYS: withDefaultNote(
      keyEntriesSetting('', parseVerifyKey, 0).describe(
        'Earlier signing keys’ public halves, `id:base64 SPKI DER,…`, still believed while their events drain',
      ),
      'none (key-service’s own key is always believed)',
    ),
    KEY_VALIDITY_MONTHS: z.coerce
      .number()
      .int()
      .min(1)
      .max(60)
      .default(6)
      .describe('How long a new key works, in calendar months'),
    KEY_MAX_ACTIVE_PER_OWNER: z.coerce
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(20)
      .describe('Keys that still work one account may hold'),
    KEY_CHANGES_PER_HOUR: z.coerce
      .number()
      .int()
      .min(1)
      .max(10_000)
      .default(30)
      .describe(
        'Key changes (create, rotate, revoke, contacts) one account may make per hour, bounding the emails they send; 429 past it',
      ),
    DEFAULT_TIME_ZONE: timeZoneName
      .default('Asia/Singapore')
      .describe(
        'Time zone of an account until its owner chooses one (an IANA name): times in emails and Settings are shown in it',
      ),
    OUTBOX_POLL_MS: z.coerce
      .number()
      .int()
      .min(10)
      .max(3_600_000)
      .default(5_000)
      .describe(
        'How often the outbox relay scans for unpublished events no write handed it (a process that died after its write, an earlier version); each write hands the relay its own document at once',
      ),
    REMINDER_STAGES_DAYS: z
      .string()
      .default('30,14,7,3,1')
      .describe('Reminder stages in days before expiry; each is sent once per key')
      .transform((text, ctx) => {
        try {
          return parseStages(text);
        } catch (error) {
          ctx.addIssue({ code: z.ZodIssueCode.custom, message: (error as Error).message });
          return z.NEVER;
        }
      }),
    SESSION_COOKIE_SECURE: withDefaultNote(
      envBoolean.optional().describe('`Secure` session cookies (sent over HTTPS only)'),
      PRODUCTION_ON,
    ),
    HSTS: withDefaultNote(envBoolean.optional().describe('Strict-Transport-Security on every response'), PRODUCTION_ON),
    SWAGGER_UI: withDefaultNote(
      envBoolean.optional().describe('The OpenAPI document and its UI at `/docs` (never frameable)'),
      'production: false; development: true',
    ),
    ...verificationEnv,
    ...leaksEnv,
    CLOSED_ACCOUNT_KEYS_RETENTION: envDuration
      .default('90d')
      .describe(
        'How long a closed account’s keys are kept, stripped to hash and status, so verifying one answers `revoked` rather than `unknown` (`90d`, `12h`…); then they are deleted',
      ),
    CLOSED_ACCOUNTS_SWEEP_MS: z.coerce
      .number()
      .int()
      .min(100)
      .max(86_400_000)
      .default(300_000)
      .describe('How often interrupted account closures are finished and closed accounts’ keys past retention deleted'),
    ACTIVITY_RETENTION_DAYS: z.coerce
      .number()
      .int()
      .min(1)
      .max(3650)
      .default(400)
      .describe('How long key activity is kept (swept hourly)'),
    ACTIVITY_FAILURES_FLUSH_MS: z.coerce
      .number()
      .int()
      .min(10)
      .max(3_600_000)
      .default(60_000)
      .describe('How often refused verifications of revoked and expired keys are added to their activity'),
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
