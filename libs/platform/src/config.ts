import { z } from 'zod';

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
};

/** HTTP listener settings; each service has its own default port. */
export const httpEnv = (defaultPort: number) => ({
  HTTP_HOST: z.string().default('127.0.0.1'),
  HTTP_PORT: z.coerce.number().int().min(1).max(65535).default(defaultPort),
});
