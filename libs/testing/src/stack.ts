import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { TEST_LOG_DIR } from './service-process';

/** Where the local stack answers; the same settings the stack script and the services use. */
export const stack = {
  kafkaBrokers: process.env.KAFKA_BROKERS ?? '127.0.0.1:9092',
  /** 3 on a KAFKA_NODES=3 stack (tools/test.sh exports what `stack.sh env` prints). */
  kafkaReplicationFactor: process.env.KAFKA_REPLICATION_FACTOR ?? '1',
  mongoUrl: `mongodb://127.0.0.1:${process.env.MONGO_PORT ?? '27017'}`,
  mailpitUrl: process.env.MAILPIT_URL ?? `http://127.0.0.1:${process.env.MAILPIT_HTTP_PORT ?? '8025'}`,
  smtpPort: process.env.SMTP_PORT ?? '1025',
};

/**
 * Settings that isolate one test file on the shared stack: its own topic namespace (so consumers
 * see only this file's messages), its own databases, its own email domain, and its own directory
 * for notification-service's journal of accepted emails.
 */
export function isolatedEnv() {
  const id = randomBytes(4).toString('hex');
  return {
    id,
    emailDomain: `t${id}.example.com`,
    env: {
      KAFKA_BROKERS: stack.kafkaBrokers,
      KAFKA_REPLICATION_FACTOR: stack.kafkaReplicationFactor,
      KAFKA_TOPIC_NAMESPACE: `test.${id}.`,
      SMTP_PORT: stack.smtpPort,
      DELIVERY_JOURNAL_DIR: join(TEST_LOG_DIR, `deliveries-journal-${id}`),
    },
    mongoUri: (db: string) => `${stack.mongoUrl}/kw_${id}_${db}`,
  };
}
