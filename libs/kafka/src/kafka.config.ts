import { z } from 'zod';

export const kafkaEnv = {
  /** Comma-separated host:port list. */
  KAFKA_BROKERS: z
    .string()
    .default('127.0.0.1:9092')
    .transform((s) =>
      s
        .split(',')
        .map((b) => b.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.string().regex(/^[^:\s]+:\d+$/, 'expected host:port')).min(1)),
  KAFKA_CLIENT_ID: z.string().min(1).optional(),
  /**
   * Prefix for every topic name (e.g. `staging.`), so several deployments or test runs can share
   * a cluster without seeing each other's messages. Empty in production.
   */
  KAFKA_TOPIC_NAMESPACE: z
    .string()
    .regex(/^[a-zA-Z0-9._-]*$/)
    .default(''),
  /** Replication factor for topics this service creates (1 on the single-node local broker, 3 on a cluster). */
  KAFKA_REPLICATION_FACTOR: z.coerce.number().int().min(1).default(1),
  /**
   * min.insync.replicas of those topics: how many replicas must have a message before the
   * producer's acks=all send succeeds. Default min(2, replication factor): a cluster of three
   * loses one broker without losing an acknowledged message or refusing writes.
   */
  KAFKA_MIN_INSYNC_REPLICAS: z.coerce.number().int().min(1).optional(),
};
