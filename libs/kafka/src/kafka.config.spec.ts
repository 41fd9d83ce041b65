import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { checkKafkaSecurity, kafkaConnection, kafkaEnv } from './kafka.config';

const schema = z.object(kafkaEnv).superRefine(checkKafkaSecurity);
const problems = (env: Record<string, string>) => {
  const result = schema.safeParse(env);
  return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};
const connectionFor = (env: Record<string, string>) => kafkaConnection(schema.parse(env));

describe('Kafka connection settings', () => {
  it('connects in plain text without SASL by default', () => {
    assert.deepEqual(connectionFor({}), { brokers: ['127.0.0.1:9092'], ssl: false, sasl: undefined });
  });

  it('passes SCRAM credentials and TLS with a CA file to every client', async () => {
    const ca = join(await mkdtemp(join(tmpdir(), 'kafka-ca-')), 'ca.pem');
    await writeFile(ca, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    const connection = connectionFor({
      KAFKA_BROKERS: 'b1:9093,b2:9093',
      KAFKA_SSL_CA_FILE: ca,
      KAFKA_SASL_MECHANISM: 'scram-sha-512',
      KAFKA_SASL_USERNAME: 'key-service',
      KAFKA_SASL_PASSWORD: 's3cret',
    });
    assert.deepEqual(connection.brokers, ['b1:9093', 'b2:9093']);
    assert.match((connection.ssl as { ca: string }).ca, /BEGIN CERTIFICATE/);
    assert.deepEqual(connection.sasl, { mechanism: 'scram-sha-512', username: 'key-service', password: 's3cret' });
  });

  it('refuses incomplete or unsafe combinations, naming the setting', () => {
    assert.deepEqual(problems({ KAFKA_SASL_MECHANISM: 'scram-sha-256' }), [
      'KAFKA_SASL_USERNAME: required with KAFKA_SASL_MECHANISM=scram-sha-256',
      'KAFKA_SASL_PASSWORD: required with KAFKA_SASL_MECHANISM=scram-sha-256',
    ]);
    assert.deepEqual(problems({ KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' }), [
      'KAFKA_SASL_MECHANISM: required with KAFKA_SASL_USERNAME / KAFKA_SASL_PASSWORD',
    ]);
    assert.match(
      problems({ KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' })[0],
      /needs|KAFKA_SSL=true/,
    );
    assert.deepEqual(
      problems({
        KAFKA_SSL: 'true',
        KAFKA_SASL_MECHANISM: 'plain',
        KAFKA_SASL_USERNAME: 'u',
        KAFKA_SASL_PASSWORD: 'p',
      }),
      [],
    );
    assert.match(problems({ KAFKA_SSL_CA_FILE: '/nonexistent/ca.pem' })[0], /^KAFKA_SSL_CA_FILE: cannot read/);
    assert.match(problems({ KAFKA_SASL_MECHANISM: 'gssapi' })[0], /^KAFKA_SASL_MECHANISM/);
  });
});
