import { z } from 'zod';
import { kafkaEnv } from '@keyward/kafka';
import { mongoEnv } from '@keyward/mongo';
import { httpEnv, platformEnv } from '@keyward/platform';

export const schedulerServiceEnv = z.object({
  SERVICE_NAME: z.string().default('scheduler-service'),
  ...platformEnv,
  ...httpEnv(3002),
  ...kafkaEnv,
  ...mongoEnv,
});
