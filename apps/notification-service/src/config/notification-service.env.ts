import { z } from 'zod';
import {
  DEV_KEY_EVENTS_VERIFY_KEY,
  DEV_LOGIN_CODE_SEALING_KEY,
  keyEntriesSetting,
  parseVerifyKey,
} from '@keyward/contracts';
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

export const notificationServiceEnv = z
  .object({
    SERVICE_NAME: z
      .string()
      .default('notification-service')
      .describe('The service’s name in logs and Kafka client ids'),
    ...runtimeEnv,
    ...platformEnv,
    ...httpEnv(3001),
    ...kafkaEnv,
    ...mongoEnv,
    MONGO_URI: mongoEnv.MONGO_URI.default('mongodb://127.0.0.1:27017/keyward_notifications'),
    CONSUMER_GROUP: z.string().min(1).default('notification-service').describe('Consumer group on the key events'),
    CONSUMER_PARTITIONS_AT_ONCE: z.coerce
      .number()
      .int()
      .min(1)
      .max(64)
      .default(6)
      .describe('Key-event partitions handled at once; each key’s events still go in order'),
    SMTP_HOST: z.string().min(1).default('127.0.0.1').describe('SMTP server'),
    SMTP_PORT: z.coerce.number().int().min(1).max(65535).default(1025).describe('Its port'),
    SMTP_SECURE: envBoolean
      .default('false')
      .describe('Implicit TLS (port 465); otherwise STARTTLS (required when SMTP_REQUIRE_TLS is on)'),
    SMTP_REQUIRE_TLS: withDefaultNote(
      envBoolean
        .optional()
        .describe(
          'Never send without STARTTLS (no plain-text fallback a network attacker could force); Mailpit cannot',
        ),
      'production: true; development: false',
    ),
    SMTP_USER: z.string().optional().describe('SMTP user'),
    SMTP_PASS: z.string().optional().describe('SMTP password'),
    SMTP_POOL_SIZE: z.coerce.number().int().min(1).max(50).default(5).describe('SMTP connections kept open'),
    MAIL_FROM: z.string().min(3).default('keyward <no-reply@keyward.local>').describe('Sender of every email'),
    WEB_APP_URL: z
      .string()
      .url()
      .default('http://127.0.0.1:3000')
      .describe('Base URL of the Settings web app, for links in emails'),
    LOGIN_CODE_SEALING_KEY: withDefaultNote(
      z
        .string()
        .min(32, 'must be at least 32 characters')
        .default(DEV_LOGIN_CODE_SEALING_KEY)
        .describe('Opens the login codes key-service seals onto Kafka: the same value in both'),
      DEVELOPMENT_SECRET,
    ),
    KEY_EVENTS_VERIFY_KEYS: withDefaultNote(
      keyEntriesSetting(DEV_KEY_EVENTS_VERIFY_KEY, parseVerifyKey).describe(
        'key-service’s public keys, `id:base64 SPKI DER,…` (Ed25519): a key event is believed only when signed by one; list the old one beside the new while rotating',
      ),
      'the development public key; required unless NODE_ENV is development or test',
    ),
    DELIVERY_GIVE_UP_AFTER: envDuration
      .default('24h')
      .describe(
        'How long a delivery keeps trying through transient SMTP failures (`90m`, `2d`…), from when it was recorded or re-driven; a login code only while it is valid',
      )
      .pipe(z.number().int().min(1_000)),
    DELIVERY_RETRY_BASE_MS: z.coerce
      .number()
      .int()
      .min(10)
      .max(60_000)
      .default(1_000)
      .describe('Backoff with jitter between attempts: from this…'),
    DELIVERY_RETRY_MAX_MS: z.coerce
      .number()
      .int()
      .min(10)
      .max(3_600_000)
      .default(300_000)
      .describe('…up to this far apart, so a delivery notices within this long that SMTP is back'),
    DELIVERY_RETRY_POLL_MS: z.coerce
      .number()
      .int()
      .min(10)
      .max(60_000)
      .default(1_000)
      .describe('How often pending deliveries are checked for a due retry'),
    DELIVERY_LEASE_MS: z.coerce
      .number()
      .int()
      .min(30_000)
      .max(600_000)
      .default(60_000)
      .describe(
        'How long one attempt holds a delivery without a sign of life (renewed every third of it while sending); then it is attempted again',
      ),
    DELIVERY_JOURNAL_DIR: z
      .string()
      .min(1)
      .default('var/deliveries-journal')
      .describe(
        'Where this instance journals each email the moment SMTP accepts it, so a crash before the database records the send does not send it again: one directory per instance, on storage that outlives the process (docs/RELIABILITY.md)',
      ),
    MAILPIT_API_URL: z
      .string()
      .url()
      .refine((url) => /^https?:\/\//i.test(url), 'must be an http(s) URL')
      .optional()
      .describe(
        'When the SMTP relay is Mailpit: its web API (`http://127.0.0.1:8025`; `user:password@` for its basic auth). An email whose worker died mid-send is looked up there by Message-ID before it is sent again, and recorded as sent if Mailpit holds it; while Mailpit cannot be asked it is not sent. Unset: sent again under the same Message-ID (docs/RELIABILITY.md)',
      ),
  })
  .superRefine(checkKafkaSecurity)
  .superRefine(
    developmentDefaultsOnlyInDevelopment({
      LOGIN_CODE_SEALING_KEY: DEV_LOGIN_CODE_SEALING_KEY,
      KEY_EVENTS_VERIFY_KEYS: DEV_KEY_EVENTS_VERIFY_KEY,
    }),
  )
  .transform((env) => ({ ...env, SMTP_REQUIRE_TLS: env.SMTP_REQUIRE_TLS ?? !isDevelopment(env) }));

/** notification-service's settings, typed, as validated at start-up. */
export class NotificationSettings extends settingsOf(notificationServiceEnv) {}
