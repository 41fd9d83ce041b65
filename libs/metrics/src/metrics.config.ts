import { settingsOf } from '@keyward/settings';
import { z } from 'zod';

export const metricsEnv = {
  METRICS_ENABLED: z
    .enum(['true', 'false', '1', '0'])
    .default('true')
    .describe(
      'Prometheus metrics at `GET /metrics` on the HTTP port (docs/OPERATIONS.md); they tell an outsider about traffic and backlogs, so keep the path off the public internet',
    )
    .transform((v) => v === 'true' || v === '1'),
};

/** The metrics settings of the service (its schema includes metricsEnv). */
export class MetricsSettings extends settingsOf(z.object(metricsEnv)) {}
