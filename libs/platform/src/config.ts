import { z } from 'zod';
import { metricsEnv } from '@keyward/metrics';

/**
 * Builds the `validate` function for ConfigModule: parses the environment once at start-up and
 * stops the process with a message naming every missing or malformed setting.
 */
export function validateEnv<S extends z.ZodTypeAny>(schema: S) {
  return (env: Record<string, unknown>): z.infer<S> => {
    const result = schema.safeParse(env);
    if (!result.success) {
      const problems = result.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n');
      throw new Error(`Invalid configuration:\n${problems}`);
    }
    return result.data;
  };
}

/** An environment flag: "true"/"1" or "false"/"0". */
export const envBoolean = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

export const platformEnv = {
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Pretty, human-readable logs (development); JSON lines otherwise. */
  LOG_PRETTY: envBoolean.default('false'),
  ...metricsEnv,
};

/** HTTP listener settings; each service has its own default port. */
export const httpEnv = (defaultPort: number) => ({
  HTTP_HOST: z.string().default('127.0.0.1'),
  HTTP_PORT: z.coerce.number().int().min(1).max(65535).default(defaultPort),
});

const DURATION_UNITS_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** A duration such as `24h`, `90m`, `30s`, `1500ms` or `2d` (a bare number is milliseconds), in milliseconds. */
export const envDuration = z
  .string()
  .regex(/^\d+(ms|s|m|h|d)?$/, 'expected a duration such as 24h, 90m, 30s or 1500ms')
  .transform((text) => {
    const [, amount, unit = 'ms'] = /^(\d+)(ms|s|m|h|d)?$/.exec(text)!;
    return Number(amount) * DURATION_UNITS_MS[unit as keyof typeof DURATION_UNITS_MS];
  });
