import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DeadLetterHeader, InvalidMessageError, Topic } from '@keyward/contracts';
import { EachBatchPayload, EachMessagePayload, Kafka, KafkaMessage } from 'kafkajs';
import { Registry } from 'prom-client';
import {
  BatchHandler,
  ConsumerSettings,
  ConsumerStoppedError,
  ManagedConsumer,
  MessageHandler,
} from './kafka-consumer.factory';
import { KafkaMetrics } from './kafka.metrics';
import { KafkaProducerService } from './kafka-producer.service';
import { KafkaTopicsService } from './kafka-topics.service';

/**
 * ManagedConsumer's retry policy, driven through the eachMessage (or eachBatch) callback it hands
 * kafkajs: a fake kafkajs consumer keeps that callback, a fake producer keeps what is dead-lettered.
 */
function harness(handler: MessageHandler['handle'] | BatchHandler<string>, extra: Partial<ConsumerSettings> = {}) {
  let eachMessage: ((payload: EachMessagePayload) => Promise<void>) | undefined;
  let eachBatch: ((payload: EachBatchPayload) => Promise<void>) | undefined;
  const deadLetters: { topic: Topic; headers: Record<string, unknown> }[] = [];
  const listeners = new Map<string, () => void>();
  const kafka = {
    consumer: () => ({
      events: { GROUP_JOIN: 'group-join', CRASH: 'crash', END_BATCH_PROCESS: 'end-batch-process' },
      on: (event: string, listener: () => void) => {
        listeners.set(event, listener);
        if (event === 'group-join') setImmediate(listener);
        return () => undefined;
      },
      connect: async () => undefined,
      subscribe: async () => undefined,
      run: async (config: { eachMessage?: typeof eachMessage; eachBatch?: typeof eachBatch }) => {
        eachMessage = config.eachMessage;
        eachBatch = config.eachBatch;
      },
      disconnect: async () => undefined,
    }),
  } as unknown as Kafka;
  const producer = {
    send: async (topic: Topic, messages: { headers: Record<string, unknown> }[]) =>
      void deadLetters.push(...messages.map((m) => ({ topic, headers: m.headers }))),
  } as unknown as KafkaProducerService;
  const topics = { namespace: 'ns.', name: (t: Topic) => `ns.${t}`, ensureTopics: async () => undefined };
  const registry = new Registry();
  const consumer = new ManagedConsumer(
    kafka,
    producer,
    topics as unknown as KafkaTopicsService,
    {
      groupId: 'group',
      topics: [Topic.KeyEvents],
      ...(typeof handler === 'function' ? { handle: handler } : handler),
      retryBaseMs: 1,
      retryMaxMs: 4,
      ...extra,
    },
    new KafkaMetrics(registry),
  );
  let heartbeats = 0;
  let heartbeatError: Error | undefined;
  const heartbeat = async () => {
    heartbeats++;
    if (heartbeatError) throw heartbeatError;
  };
  const message = (offset: string, value = '{}') =>
    ({ key: Buffer.from('k-1'), value: Buffer.from(value), offset, headers: {} }) as KafkaMessage;
  const deliver = (offset: string) =>
    eachMessage!({
      topic: `ns.${Topic.KeyEvents}`,
      partition: 3,
      message: message(offset),
      heartbeat,
      pause: () => () => undefined,
    });
  /** One fetch of partition 3: a message per [offset, value]. */
  const deliverBatch = (messages: [string, string][]) =>
    eachBatch!({
      batch: {
        topic: `ns.${Topic.KeyEvents}`,
        partition: 3,
        messages: messages.map(([offset, value]) => message(offset, value)),
        firstOffset: () => messages[0]?.[0] ?? null,
        lastOffset: () => messages[messages.length - 1]?.[0] ?? '-1',
      },
      heartbeat,
    } as unknown as EachBatchPayload);
  return {
    consumer,
    deliver,
    deliverBatch,
    deadLetters,
    registry,
    heartbeats: () => heartbeats,
    failHeartbeats: (error: Error) => (heartbeatError = error),
    emit: (event: 'group-join' | 'crash') => listeners.get(event)!(),
  };
}

const databaseDown = () =>
  Object.assign(new Error('connection <monitor> to 127.0.0.1:27017 closed'), { name: 'MongoNetworkError' });

describe('ManagedConsumer', () => {
  it('reports a possible gap when it crashes or joins its group again, not at its first join', async () => {
    let gaps = 0;
    const h = harness(async () => undefined, { onGap: () => gaps++ });
    await h.consumer.start();
    assert.equal(gaps, 0);
    h.emit('group-join');
    assert.equal(gaps, 1);
    h.emit('crash');
    assert.equal(gaps, 2);
  });

  it('dead-letters a message that fails validation at once, with the reason and where it came from', async () => {
    let calls = 0;
    const h = harness(async () => {
      calls++;
      throw new InvalidMessageError('payload.contacts: Required');
    });
    await h.consumer.start();
    await h.deliver('41');
    assert.equal(calls, 1, 'no retry of an invalid message');
    assert.equal(h.deadLetters.length, 1);
    const [{ topic, headers }] = h.deadLetters;
    assert.equal(topic, Topic.DeadLetter);
    assert.equal(headers[DeadLetterHeader.Reason], 'invalid: payload.contacts: Required');
    assert.equal(headers[DeadLetterHeader.SourceTopic], `ns.${Topic.KeyEvents}`);
    assert.equal(headers[DeadLetterHeader.SourcePartition], '3');
    assert.equal(headers[DeadLetterHeader.SourceOffset], '41');
    assert.equal(headers[DeadLetterHeader.Consumer], 'group');
    const counted = await h.registry.getSingleMetric('keyward_kafka_dead_letters_total')?.get();
    assert.deepEqual(
      counted?.values.map((v) => [v.labels, v.value]),
      [[{ group: 'group', topic: `ns.${Topic.KeyEvents}` }, 1]],
    );
  });

  it('retries an infrastructure failure for as long as it lasts, never dead-letters it, and beats meanwhile', async () => {
    // Far more failures than the 5 attempts the consumer used to allow before dead-lettering.
    const failures = 40;
    let calls = 0;
    const h = harness(async () => {
      if (++calls <= failures) throw databaseDown();
    });
    await h.consumer.start();
    await h.deliver('7');
    assert.equal(calls, failures + 1, 'the message is handled once the dependency is back');
    assert.equal(h.deadLetters.length, 0);
    assert.ok(h.heartbeats() >= failures, `a heartbeat after every wait (${h.heartbeats()})`);
  });

  it('does not let the next message of the partition ahead while one is held', async () => {
    const handled: string[] = [];
    let failuresLeft = 5;
    const h = harness(async ({ message }) => {
      if (message.offset === '1' && failuresLeft-- > 0) throw databaseDown();
      handled.push(message.offset);
    });
    await h.consumer.start();
    // kafkajs calls eachMessage for offset 2 only once the call for offset 1 has resolved.
    const first = h.deliver('1');
    let firstDone = false;
    void first.then(() => (firstDone = true));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(firstDone, false, 'the held message is not acknowledged while failing');
    await first;
    await h.deliver('2');
    assert.deepEqual(handled, ['1', '2']);
  });

  it('gives a held message up uncommitted when the consumer stops, without another attempt', async () => {
    let calls = 0;
    const h = harness(async () => {
      calls++;
      throw databaseDown();
    });
    await h.consumer.start();
    const held = h.deliver('9');
    while (calls < 3) await new Promise((resolve) => setTimeout(resolve, 1));
    await h.consumer.stop();
    await assert.rejects(held, ConsumerStoppedError);
    const after = calls;
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(calls, after);
    assert.equal(h.deadLetters.length, 0);
  });

  it('stops holding a message when a heartbeat says the group rebalanced, so kafkajs rejoins', async () => {
    let calls = 0;
    const h = harness(async () => {
      calls++;
      throw databaseDown();
    });
    await h.consumer.start();
    h.failHeartbeats(Object.assign(new Error('The group is rebalancing'), { type: 'REBALANCE_IN_PROGRESS' }));
    await assert.rejects(h.deliver('5'), /rebalancing/);
    assert.equal(calls, 1);
    assert.equal(h.deadLetters.length, 0);
  });

  it('keeps retrying through heartbeats that fail for other reasons (the broker briefly unreachable)', async () => {
    let calls = 0;
    const h = harness(async () => {
      if (++calls <= 3) throw databaseDown();
    });
    await h.consumer.start();
    h.failHeartbeats(new Error('Connection timeout'));
    await h.deliver('6');
    assert.equal(calls, 4);
  });

  describe('handling a batch at once', () => {
    /** Values 'bad…' fail validation; the rest are handled in batches, recorded here. */
    const parsing = (batches: string[][], fail: () => boolean = () => false): BatchHandler<string> => ({
      parse: ({ message }) => {
        const value = message.value!.toString();
        if (value.startsWith('bad')) throw new InvalidMessageError(`${value}: Required`);
        return value;
      },
      handleBatch: async (items) => {
        if (fail()) throw databaseDown();
        batches.push(items);
      },
    });

    it('hands the valid messages over together in partition order, and dead-letters each invalid one', async () => {
      const batches: string[][] = [];
      const h = harness(parsing(batches));
      await h.consumer.start();
      await h.deliverBatch([
        ['10', 'a'],
        ['11', 'bad-1'],
        ['12', 'b'],
        ['13', 'c'],
      ]);
      assert.deepEqual(batches, [['a', 'b', 'c']]);
      assert.deepEqual(
        h.deadLetters.map(({ headers }) => [headers[DeadLetterHeader.SourceOffset], headers[DeadLetterHeader.Reason]]),
        [['11', 'invalid: bad-1: Required']],
      );
    });

    it('retries the whole batch through a failure without dead-lettering anything twice', async () => {
      const batches: string[][] = [];
      let failures = 3;
      const h = harness(parsing(batches, () => failures-- > 0));
      await h.consumer.start();
      await h.deliverBatch([
        ['20', 'bad-2'],
        ['21', 'd'],
      ]);
      assert.deepEqual(batches, [['d']]);
      assert.equal(h.deadLetters.length, 1);
      assert.ok(h.heartbeats() >= 3, 'beats while the batch is held');
    });

    it('gives a held batch up uncommitted when the consumer stops', async () => {
      let calls = 0;
      const h = harness(parsing([], () => ++calls > 0));
      await h.consumer.start();
      const held = h.deliverBatch([['30', 'e']]);
      while (calls < 2) await new Promise((resolve) => setTimeout(resolve, 1));
      await h.consumer.stop();
      await assert.rejects(held, ConsumerStoppedError);
    });
  });
});
