import { settingsOf, withDefaultNote } from '@keyward/settings';
import { KafkaConfig, SASLOptions } from 'kafkajs';
import { readFileSync } from 'node:fs';
import { z } from 'zod';

/** A PEM file named by a setting, read once at start-up (a missing file names the setting). */
const pemFile = z
  .string()
  .min(1)
  .transform((path, ctx) => {
    try {
      return readFileSync(path, 'utf8');
    } catch (error) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        message: `cannot read ${path}: ${(error as NodeJS.ErrnoException).code}`,
      });
      return z.NEVER;
    }
  })
  .optional();

export const kafkaEnv = {
  KAFKA_BROKERS: z
    .string()
    .default('127.0.0.1:9092')
    .describe('Comma-separated `host:port` of the brokers')
    .transform((s) =>
      s
        .split(',')
        .map((b) => b.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.string().regex(/^[^:\s]+:\d+$/, 'expected host:port')).min(1)),
  KAFKA_CLIENT_ID: withDefaultNote(
    z.string().min(1).optional().describe('Kafka client id of the process'),
    'the service’s name',
  ),
  KAFKA_TOPIC_NAMESPACE: z
    .string()
    .regex(/^[a-zA-Z0-9._-]*$/)
    .default('')
    .describe(
      'Prefix of every topic and consumer group (e.g. `staging.`), so deployments or test runs can share a cluster; empty in production',
    ),
  KAFKA_REPLICATION_FACTOR: z.coerce
    .number()
    .int()
    .min(1)
    .default(1)
    .describe('Replication factor of the topics the service creates (3 on a cluster)'),
  KAFKA_MIN_INSYNC_REPLICAS: withDefaultNote(
    z.coerce
      .number()
      .int()
      .min(1)
      .optional()
      .describe(
        '`min.insync.replicas` of those topics: how many replicas an acks=all write needs (a cluster of three loses a broker without losing an acknowledged message)',
      ),
    'min(2, replication factor)',
  ),
  // A flag as @keyward/platform's envBoolean, which this library cannot import (platform imports it).
  KAFKA_SSL: z
    .enum(['true', 'false', '1', '0'])
    .default('false')
    .describe('TLS to the brokers (also on when any `KAFKA_SSL_*_FILE` is given); see docs/stack.md')
    .transform((v) => v === 'true' || v === '1'),
  KAFKA_SSL_CA_FILE: pemFile.describe('CA bundle (PEM) that signed the brokers’ certificates, when not a public CA'),
  KAFKA_SSL_CERT_FILE: pemFile.describe('Client certificate (PEM), for brokers that authenticate clients by TLS'),
  KAFKA_SSL_KEY_FILE: pemFile.describe('Its private key (PEM)'),
  KAFKA_SASL_MECHANISM: z
    .enum(['plain', 'scram-sha-256', 'scram-sha-512'])
    .optional()
    .describe('SASL authentication: `scram-sha-512`, `scram-sha-256` or `plain` (plain only over TLS)'),
  KAFKA_SASL_USERNAME: z.string().min(1).optional().describe('SASL user'),
  KAFKA_SASL_PASSWORD: z.string().min(1).optional().describe('SASL password'),
};

type KafkaEnv = z.infer<z.ZodObject<typeof kafkaEnv>>;

/** The Kafka settings of the process (its schema includes kafkaEnv and names the service). */
export class KafkaSettings extends settingsOf(z.object({ SERVICE_NAME: z.string(), ...kafkaEnv })) {}

/**
 * The rules between the Kafka settings, for each service's schema (`.superRefine(checkKafkaSecurity)`):
 * SASL needs a username and a password, PLAIN sends the password as is so it needs TLS, and a
 * client key goes with its certificate.
 */
export function checkKafkaSecurity(env: KafkaEnv, ctx: z.RefinementCtx): void {
  const problem = (path: keyof KafkaEnv, message: string) =>
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: [path], message });
  const sasl = env.KAFKA_SASL_MECHANISM;
  if (sasl && !env.KAFKA_SASL_USERNAME) problem('KAFKA_SASL_USERNAME', `required with KAFKA_SASL_MECHANISM=${sasl}`);
  if (sasl && !env.KAFKA_SASL_PASSWORD) problem('KAFKA_SASL_PASSWORD', `required with KAFKA_SASL_MECHANISM=${sasl}`);
  if (!sasl && (env.KAFKA_SASL_USERNAME || env.KAFKA_SASL_PASSWORD))
    problem('KAFKA_SASL_MECHANISM', 'required with KAFKA_SASL_USERNAME / KAFKA_SASL_PASSWORD');
  if (sasl === 'plain' && !tlsOn(env))
    problem('KAFKA_SASL_MECHANISM', 'plain sends the password as is: set KAFKA_SSL=true, or use scram-sha-512');
  if (!env.KAFKA_SSL_CERT_FILE !== !env.KAFKA_SSL_KEY_FILE)
    problem('KAFKA_SSL_KEY_FILE', 'KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE go together');
}

const tlsOn = (env: Partial<KafkaEnv>) =>
  Boolean(env.KAFKA_SSL || env.KAFKA_SSL_CA_FILE || env.KAFKA_SSL_CERT_FILE || env.KAFKA_SSL_KEY_FILE);

/**
 * How every Kafka client of a process connects (our own, and Nest's request/reply client and
 * server): brokers, TLS and SASL from the validated settings.
 */
export function kafkaConnection(settings: KafkaEnv): Pick<KafkaConfig, 'brokers' | 'ssl' | 'sasl'> {
  const mechanism = settings.KAFKA_SASL_MECHANISM;
  return {
    brokers: settings.KAFKA_BROKERS,
    ssl: tlsOn(settings)
      ? { ca: settings.KAFKA_SSL_CA_FILE, cert: settings.KAFKA_SSL_CERT_FILE, key: settings.KAFKA_SSL_KEY_FILE }
      : false,
    sasl: mechanism
      ? ({ mechanism, username: settings.KAFKA_SASL_USERNAME, password: settings.KAFKA_SASL_PASSWORD } as SASLOptions)
      : undefined,
  };
}
