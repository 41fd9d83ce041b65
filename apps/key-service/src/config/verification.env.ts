import { parseSealingKeys, SealingKey } from '@keyward/contracts';
import { z } from 'zod';
import { isDevelopment } from '@keyward/platform';
import { DEVELOPMENT_SECRET, withDefaultNote } from '@keyward/settings';

export const DEV_VERIFY_SERVICE_TOKEN = 'keyward-local-development-only-verify-token';
/** One caller, `dev`, whose key is public: for development and tests only. */
export const DEV_KEY_VERIFY_CALLERS = `dev:${Buffer.from('keyward-local-development-only!!').toString('base64')}`;
const DEV_CALLER_KEY = parseSealingKeys(DEV_KEY_VERIFY_CALLERS)[0].key;

/** A comma-separated list of service tokens, each long enough not to be guessed. */
export const serviceTokenList = (developmentDefault: string) =>
  z
    .string()
    .default(developmentDefault)
    .transform((s) =>
      s
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.string().min(32, 'each token must be at least 32 characters')).min(1));

/** Settings of key verification for internal services (spread into key-service's schema). */
export const verificationEnv = {
  VERIFY_SERVICE_TOKENS: withDefaultNote(
    serviceTokenList(DEV_VERIFY_SERVICE_TOKEN).describe(
      'Comma-separated tokens (each ≥ 32 characters) an internal service sends as `x-service-token` to `POST /v1/keys/verify`',
    ),
    DEVELOPMENT_SECRET,
  ),
  VERIFY_HTTP_PORT: z.coerce
    .number()
    .int()
    .min(0)
    .max(65535)
    .default(0)
    .describe(
      'Port of the internal verification listener (the same route and checks on node:http in a worker thread with its own cache, for internal services); 0: verification on HTTP_PORT only',
    ),
  VERIFY_HTTP_HOST: z
    .string()
    .min(1)
    .default('127.0.0.1')
    .describe('Interface of the internal verification listener: loopback unless internal services sit on other hosts'),
  VERIFY_THREAD_PRIORITY: z
    .enum(['normal', 'realtime'])
    .default('normal')
    .describe(
      'Scheduling of the internal listener’s worker thread. `realtime` (Linux, needs `chrt` and CAP_SYS_NICE or an RLIMIT_RTPRIO of 1): SCHED_FIFO priority 1, so a verification never waits for a core behind key creation or a database on the same host; while the worker is busier than half of each second (a flood of verifications) it runs at normal priority (docs/OPERATIONS.md)',
    ),
  KEY_VERIFY_CALLERS: withDefaultNote(
    z
      .string()
      .default(DEV_KEY_VERIFY_CALLERS)
      .describe(
        'Callers of Kafka verification, `id:base64key,…` (32-byte keys): each internal service using libs/key-client holds its own id and key; several ids per caller let its key be rotated',
      ),
    'a development caller `dev`; required unless NODE_ENV is development or test',
  ).transform((text, ctx): SealingKey[] => {
    try {
      return parseSealingKeys(text);
    } catch (error) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: (error as Error).message });
      return z.NEVER;
    }
  }),
  VERIFY_CACHE_MAX_ENTRIES: z.coerce.number().int().min(1).default(50_000).describe('Verifications cached (an LRU)'),
  VERIFY_CACHE_TTL_MS: z.coerce
    .number()
    .int()
    .min(0)
    .default(60_000)
    .describe('How long a valid key’s verification is reused without a lookup (never past the key’s expiry)'),
  VERIFY_NEGATIVE_CACHE_TTL_MS: z.coerce
    .number()
    .int()
    .min(0)
    .default(5_000)
    .describe('How long "not valid" is remembered: short, as a key that did not exist may be imported'),
  VERIFY_FAILURES_PER_MINUTE: z.coerce
    .number()
    .int()
    .min(1)
    .default(600)
    .describe(
      'Failed verifications one caller may make per minute on an instance before it is answered 429 (never for a valid key): a bound on guessing keys with a leaked service token',
    ),
  LAST_USED_FLUSH_MS: z.coerce
    .number()
    .int()
    .min(10)
    .max(600_000)
    .default(5_000)
    .describe('How often the lastUsedAt of verified keys is written, in one batch (and on shutdown)'),
};

/** Only development and test may run on the public development secrets. */
export function verificationSecretsSet(env: {
  NODE_ENV?: string;
  VERIFY_SERVICE_TOKENS: string[];
  KEY_VERIFY_CALLERS: SealingKey[];
}) {
  return (
    isDevelopment(env) ||
    (!env.VERIFY_SERVICE_TOKENS.includes(DEV_VERIFY_SERVICE_TOKEN) &&
      !env.KEY_VERIFY_CALLERS.some((caller) => caller.key.equals(DEV_CALLER_KEY)))
  );
}
