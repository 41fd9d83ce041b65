import { settingsOf } from '@keyward/settings';
import { z } from 'zod';

export const metricsEnv = {
  /**
   * Serve Prometheus metrics at `GET /metrics` on the service's HTTP port. They tell an outsider
   * about traffic and backlogs: keep the path off the public internet (block it at the proxy), or
   * set false to turn it off.
   */
  METRICS_ENABLED: z
    .enum(['true', 'false', '1', '0'])
    .default('true')
    .transform((v) => v === 'true' || v === '1'),
};

/** The metrics settings of the service (its schema includes metricsEnv). */
export class MetricsSettings extends settingsOf(z.object(metricsEnv)) {}
