import { z } from 'zod';
import { kafkaEnv } from '@keyward/kafka';
import { mongoEnv } from '@keyward/mongo';
import { envBoolean, httpEnv, platformEnv } from '@keyward/platform';

export const notificationServiceEnv = z.object({
  SERVICE_NAME: z.string().default('notification-service'),
  ...platformEnv,
  ...httpEnv(3001),
  ...kafkaEnv,
  ...mongoEnv,
  MONGO_URI: mongoEnv.MONGO_URI.default('mongodb://127.0.0.1:27017/keyward_notifications'),
  CONSUMER_GROUP: z.string().min(1).default('notification-service'),
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
  /** Attempts per recipient for a transient SMTP failure, with exponential backoff. */
  DELIVERY_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(6),
  DELIVERY_RETRY_BASE_MS: z.coerce.number().int().min(10).max(60_000).default(500),
});
