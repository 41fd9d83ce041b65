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
import { settingsOf } from '@keyward/settings';

export const notificationServiceEnv = z
  .object({
    SERVICE_NAME: z.string().default('notification-service'),
    ...runtimeEnv,
    ...platformEnv,
    ...httpEnv(3001),
    ...kafkaEnv,
    ...mongoEnv,
    MONGO_URI: mongoEnv.MONGO_URI.default('mongodb://127.0.0.1:27017/keyward_notifications'),
    CONSUMER_GROUP: z.string().min(1).default('notification-service'),
    /** Key-event partitions handled at once; each key's events still go in order. */
    CONSUMER_PARTITIONS_AT_ONCE: z.coerce.number().int().min(1).max(64).default(6),
    SMTP_HOST: z.string().min(1).default('127.0.0.1'),
    SMTP_PORT: z.coerce.number().int().min(1).max(65535).default(1025),
    /** Implicit TLS (port 465); otherwise STARTTLS (required when SMTP_REQUIRE_TLS is on). */
    SMTP_SECURE: envBoolean.default('false'),
    /**
     * Refuse to send unless the server upgrades with STARTTLS (no plain-text fallback a network
     * attacker could force); on unless NODE_ENV is development or test.
     */
    SMTP_REQUIRE_TLS: envBoolean.optional(),
    SMTP_USER: z.string().optional(),
    SMTP_PASS: z.string().optional(),
    SMTP_POOL_SIZE: z.coerce.number().int().min(1).max(50).default(5),
    MAIL_FROM: z.string().min(3).default('keyward <no-reply@keyward.local>'),
    /** Base URL of the Settings web app, for links in emails. */
    WEB_APP_URL: z.string().url().default('http://127.0.0.1:3000'),
    /** Shared with key-service: opens the login codes it seals onto Kafka. */
    LOGIN_CODE_SEALING_KEY: z.string().min(32, 'must be at least 32 characters').default(DEV_LOGIN_CODE_SEALING_KEY),
    /** key-service's public keys, `id:base64 SPKI DER,…` (Ed25519): a key event is believed only when signed by one. */
    KEY_EVENTS_VERIFY_KEYS: keyEntriesSetting(DEV_KEY_EVENTS_VERIFY_KEY, parseVerifyKey),
    /**
     * How long a delivery keeps trying through transient SMTP failures before it is marked failed,
     * counted from when it was recorded (or re-driven). A login code stops earlier, when it expires.
     */
    DELIVERY_GIVE_UP_AFTER: envDuration.default('24h').pipe(z.number().int().min(1_000)),
    /** Exponential backoff with jitter between attempts: from this… */
    DELIVERY_RETRY_BASE_MS: z.coerce.number().int().min(10).max(60_000).default(1_000),
    /** …up to this far apart, so a delivery notices within this long that SMTP is back. */
    DELIVERY_RETRY_MAX_MS: z.coerce.number().int().min(10).max(3_600_000).default(300_000),
    /** How often pending deliveries are checked for a due retry. */
    DELIVERY_RETRY_POLL_MS: z.coerce.number().int().min(10).max(60_000).default(1_000),
    /**
     * How long one attempt holds a delivery without a sign of life. The worker renews it every third
     * of this while its send is queued or in flight, so only a worker that died (or lost the
     * database) lets it lapse; then the delivery is attempted again.
     */
    DELIVERY_LEASE_MS: z.coerce.number().int().min(30_000).max(600_000).default(60_000),
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
