import { validateCronExpression } from 'cron';
import { z } from 'zod';
import { checkKafkaSecurity, kafkaEnv } from '@keyward/kafka';
import { mongoEnv } from '@keyward/mongo';
import { httpEnv, platformEnv, runtimeEnv } from '@keyward/platform';
import { settingsOf } from '@keyward/settings';

export const schedulerServiceEnv = z
  .object({
    SERVICE_NAME: z.string().default('scheduler-service').describe('The service’s name in logs and Kafka client ids'),
    ...runtimeEnv,
    ...platformEnv,
    ...httpEnv(3002),
    ...kafkaEnv,
    // key-service's database: the scheduler reads its keys and reminder calendar (never writes them)
    // and keeps its own leases and progress there.
    ...mongoEnv,
    REMINDER_SCAN_CRON: z
      .string()
      .default('0 * * * * *')
      .describe('When a reminder scan pass runs (cron with seconds; the default is every minute)')
      .refine((expr) => validateCronExpression(expr).valid, 'not a valid cron expression (e.g. "0 * * * * *")'),
    REMINDER_COMMAND_LEASE_MS: z.coerce
      .number()
      .int()
      .min(1_000)
      .max(86_400_000)
      .default(600_000)
      .describe('How long a sent reminder command counts as in flight: no pass sends it again before'),
    REMINDER_FULL_SCAN_EVERY_MS: z.coerce
      .number()
      .int()
      .min(60_000)
      .max(7 * 86_400_000)
      .default(3_600_000)
      .describe(
        'How often a pass scans every key (the safety net: keys the reminder calendar does not list) instead of reading the calendar',
      ),
    REMINDER_SCAN_PAGE_SIZE: z.coerce
      .number()
      .int()
      .min(1)
      .max(10_000)
      .default(500)
      .describe('Keys read and commands sent per page of a pass'),
  })
  .superRefine(checkKafkaSecurity);

/** scheduler-service's settings, typed, as validated at start-up. */
export class SchedulerSettings extends settingsOf(schedulerServiceEnv) {}
