import { isIP } from 'node:net';
import { z } from 'zod';
import { metricsEnv } from '@keyward/metrics';
import { settingsOf, withDefaultNote } from '@keyward/settings';

/** An environment flag: "true"/"1" or "false"/"0". */
export const envBoolean = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

export const logEnv = {
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .default('info')
    .describe('The lowest level logged'),
  LOG_PRETTY: envBoolean.default('false').describe('Pretty, human-readable logs (development); JSON lines otherwise'),
};

export const platformEnv = { ...logEnv, ...metricsEnv };

/** How the service logs (its schema includes platformEnv). */
export class LogSettings extends settingsOf(z.object(logEnv)) {}

/**
 * `development` and `test` are the only modes that may run on the public development defaults;
 * anything else, unset included, is production.
 */
export const runtimeEnv = {
  NODE_ENV: withDefaultNote(
    z
      .enum(['development', 'test', 'production'])
      .optional()
      .describe(
        '`development` or `test` allow the public development secrets and defaults; anything else, unset included, is production and refuses them',
      ),
    'unset (= production)',
  ),
};

export const isDevelopment = (env: { NODE_ENV?: string }): boolean =>
  env.NODE_ENV === 'development' || env.NODE_ENV === 'test';

/**
 * A refinement that refuses each setting still holding its public development default (or, for
 * a list, containing it) unless NODE_ENV is `development` or `test`.
 */
export function developmentDefaultsOnlyInDevelopment(defaults: Record<string, string>) {
  return (env: { NODE_ENV?: string } & Record<string, unknown>, ctx: z.RefinementCtx): void => {
    if (isDevelopment(env)) return;
    for (const [name, value] of Object.entries(defaults)) {
      const setting = env[name];
      if (setting === value || (Array.isArray(setting) && setting.includes(value))) {
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          path: [name],
          message: 'must be set unless NODE_ENV is development or test (the development default is public)',
        });
      }
    }
  };
}

/**
 * Which proxies may set X-Forwarded-For (the client address rate limits count by): none by
 * default; a hop count ("1"); or addresses and CIDRs, comma-separated ("10.0.0.0/8,127.0.0.1").
 * `true` (trust every hop) is refused: any client could then pick its own address.
 */
export const trustProxySetting = z
  .string()
  .default('false')
  .describe(
    'Proxies trusted for `X-Forwarded-For` (the client address rate limits count by): a hop count, or IPs/CIDRs comma-separated; `true` is refused',
  )
  .transform((text, ctx): false | number | string[] => {
    const value = text.trim();
    if (value === '' || value === 'false' || value === '0') return false;
    if (/^\d+$/.test(value)) return Number(value);
    const entries = value.split(',').map((entry) => entry.trim());
    const bad = entries.filter((entry) => !isAddressOrCidr(entry));
    if (bad.length > 0) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        message: `expected false, a hop count, or comma-separated IP addresses/CIDRs; not ${bad.join(', ')}`,
      });
      return z.NEVER;
    }
    return entries;
  });

function isAddressOrCidr(entry: string): boolean {
  const [address, prefix, ...rest] = entry.split('/');
  const version = isIP(address);
  if (version === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d+$/.test(prefix) && Number(prefix) <= (version === 4 ? 32 : 128);
}

/** HTTP listener settings; each service has its own default port. */
export const httpEnv = (defaultPort: number) => ({
  HTTP_HOST: z.string().default('127.0.0.1').describe('Interface of the HTTP listener'),
  HTTP_PORT: z.coerce
    .number()
    .int()
    .min(1)
    .max(65535)
    .default(defaultPort)
    .describe('Port of the HTTP listener (API, `/health`, `/metrics`)'),
  TRUST_PROXY: withDefaultNote(trustProxySetting, 'off (the socket’s address is the client’s)'),
});

const DURATION_UNITS_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Where the service listens (its schema includes httpEnv with its own default port). */
export class HttpSettings extends settingsOf(z.object(httpEnv(1))) {}

/** A duration such as `24h`, `90m`, `30s`, `1500ms` or `2d` (a bare number is milliseconds), in milliseconds. */
export const envDuration = z
  .string()
  .regex(/^\d+(ms|s|m|h|d)?$/, 'expected a duration such as 24h, 90m, 30s or 1500ms')
  .transform((text) => {
    const [, amount, unit = 'ms'] = /^(\d+)(ms|s|m|h|d)?$/.exec(text)!;
    return Number(amount) * DURATION_UNITS_MS[unit as keyof typeof DURATION_UNITS_MS];
  });
