import { z } from 'zod';
import { kafkaEnv } from '@keyward/kafka';
import { mongoEnv } from '@keyward/mongo';
import { envBoolean, httpEnv, platformEnv } from '@keyward/platform';

const DEV_LOGIN_CODE_SEALING_KEY = 'keyward-local-development-only-login-code-key';

export const notificationServiceEnv = z
  .object({
    SERVICE_NAME: z.string().default('notification-service'),
    NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
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
    /** Implicit TLS (port 465); otherwise STARTTLS is used when the server offers it. */
    SMTP_SECURE: envBoolean.default('false'),
    SMTP_USER: z.string().optional(),
    SMTP_PASS: z.string().optional(),
    SMTP_POOL_SIZE: z.coerce.number().int().min(1).max(50).default(5),
    MAIL_FROM: z.string().min(3).default('keyward <no-reply@keyward.local>'),
    /** Base URL of the Settings web app, for links in emails. */
    WEB_APP_URL: z.string().url().default('http://127.0.0.1:3000'),
    /** Shared with key-service: opens the login codes it seals onto Kafka. */
    LOGIN_CODE_SEALING_KEY: z.string().min(32, 'must be at least 32 characters').default(DEV_LOGIN_CODE_SEALING_KEY),
    /**
     * Attempts per recipient through transient SMTP failures, with exponential backoff and jitter
     * (capped at 30 s apart) before the delivery is marked failed: 20 from 1 s spans about 8 minutes.
     */
    DELIVERY_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(20),
    DELIVERY_RETRY_BASE_MS: z.coerce.number().int().min(10).max(60_000).default(1_000),
    /** How often pending deliveries are checked for a due retry. */
    DELIVERY_RETRY_POLL_MS: z.coerce.number().int().min(10).max(60_000).default(1_000),
    /**
     * How long one attempt holds a delivery; after a crash mid-send it is retried once this passes.
     * At least 30 s: longer than an SMTP attempt can take (5 s connect + 5 s greeting + 10 s idle).
     */
    DELIVERY_LEASE_MS: z.coerce.number().int().min(30_000).max(600_000).default(60_000),
  })
  .refine((env) => env.NODE_ENV !== 'production' || env.LOGIN_CODE_SEALING_KEY !== DEV_LOGIN_CODE_SEALING_KEY, {
    path: ['LOGIN_CODE_SEALING_KEY'],
    message: 'must be set in production (the development default is public)',
  });
