import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Topic } from '@keyward/contracts';
import { Kafka, ProducerConfig, ProducerRecord } from 'kafkajs';
import { KafkaMetrics } from './kafka.metrics';
import { KafkaProducerService } from './kafka-producer.service';
import { KafkaTopicsService } from './kafka-topics.service';

/** The producer service over fake kafkajs producers that record each send (and can refuse some). */
function harness(refuse?: (record: ProducerRecord, producer: number) => Error | undefined) {
  const sends: { producer: number; record: ProducerRecord }[] = [];
  const configs: ProducerConfig[] = [];
  const kafka = {
    producer: (config: ProducerConfig) => {
      const id = configs.push(config);
      return {
        connect: async () => undefined,
        disconnect: async () => undefined,
        send: async (record: ProducerRecord) => {
          const error = refuse?.(record, id);
          if (error) throw error;
          sends.push({ producer: id, record });
          return [];
        },
      };
    },
  } as unknown as Kafka;
  const topics = { name: (t: Topic) => `ns.${t}`, partitionCount: () => 6 };
  const metrics = { published: { inc: () => undefined } };
  const service = new KafkaProducerService(
    kafka,
    topics as unknown as KafkaTopicsService,
    metrics as unknown as KafkaMetrics,
  );
  return { service, sends, configs };
}

const message = (key: string) => ({ key, value: `event of ${key}` });

describe('Kafka producer service', () => {
  it('is idempotent, one request in flight, retrying until a send lands', () => {
    const { configs } = harness();
    assert.equal(configs[0].idempotent, true);
    assert.equal(configs[0].maxInFlightRequests, 1);
    assert.equal(configs[0].retry?.retries, Number.MAX_SAFE_INTEGER);
  });

  it('sends each partition in a send of its own, acks=all, a key always to the same partition in order', async () => {
    const { service, sends } = harness();
    const keys = Array.from({ length: 12 }, (_, i) => `key-${i}`);
    await service.send(Topic.KeyEvents, [...keys.map(message), message('key-0'), message('key-5')]);

    const partitionOf = new Map<string, number>();
    for (const { record } of sends) {
      assert.equal(record.topic, `ns.${Topic.KeyEvents}`);
      assert.equal(record.acks, -1);
      const partitions = new Set(record.messages.map((m) => m.partition));
      assert.equal(partitions.size, 1, 'one partition per send');
      for (const m of record.messages) {
        const key = String(m.key);
        if (partitionOf.has(key)) assert.equal(m.partition, partitionOf.get(key), `${key} on one partition`);
        partitionOf.set(key, m.partition as number);
      }
    }
    assert.ok(sends.length > 1, 'twelve keys spread over several of six partitions');
    assert.equal(
      sends.reduce((n, s) => n + s.record.messages.length, 0),
      14,
      'every message sent once',
    );
    const key0 = sends.flatMap((s) => s.record.messages).filter((m) => m.key === 'key-0');
    assert.equal(key0.length, 2);

    const { service: again, sends: sendsAgain } = harness();
    await again.send(Topic.KeyEvents, [message('key-0')]);
    assert.equal(sendsAgain[0].record.messages[0].partition, partitionOf.get('key-0'), 'the same partition next time');
  });

  it('renews the producer when a broker refuses its sequence numbers, and lets the caller send again', async () => {
    const outOfOrder = Object.assign(new Error('The broker received an out of order sequence number'), {
      type: 'OUT_OF_ORDER_SEQUENCE_NUMBER',
    });
    const { service, sends, configs } = harness((_record, producer) => (producer === 1 ? outOfOrder : undefined));
    await assert.rejects(service.send(Topic.KeyEvents, [message('key-1')]), /out of order/);
    assert.equal(configs.length, 2, 'a new producer');
    await service.send(Topic.KeyEvents, [message('key-1')]);
    assert.deepEqual(
      sends.map((s) => s.producer),
      [2],
    );
  });

  it('keeps its producer on other failures', async () => {
    const { service, configs } = harness(() => new Error('Connection error'));
    await assert.rejects(service.send(Topic.KeyEvents, [message('key-1')]), /Connection error/);
    assert.equal(configs.length, 1);
  });
});
