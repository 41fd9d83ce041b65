import assert from 'node:assert/strict';
import { describe, it, TestContext } from 'node:test';
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
import { ConsumerSupervisor } from './consumer-supervisor';
import { KafkaMetrics } from './kafka.metrics';
import { KafkaProducerService } from './kafka-producer.service';
import { KafkaTopicsService } from './kafka-topics.service';

type Listener = (event: { payload: unknown }) => void;

/** What kafkajs reports when a consumer's group coordinator went away while it joined. */
const coordinatorLost = () =>
  Object.assign(new Error('Failed to find group coordinator'), { name: 'KafkaJSNonRetriableError' });

/**
 * ManagedConsumer's retry policy, driven through the eachMessage (or eachBatch) callback it hands
 * kafkajs: a fake kafkajs consumer keeps that callback, a fake producer keeps what is dead-lettered.
 * The fake consumer behaves as kafkajs's after a crash: stopped and disconnected until connected
 * and run again; a run joins the group (GROUP_JOIN) unless `crashJoins` says the join crashes, and
 * a connect fails while `refuseConnects` says so.
 */
function harness(handler: MessageHandler['handle'] | BatchHandler<string>, extra: Partial<ConsumerSettings> = {}) {
  let eachMessage: ((payload: EachMessagePayload) => Promise<void>) | undefined;
  let eachBatch: ((payload: EachBatchPayload) => Promise<void>) | undefined;
  const deadLetters: { topic: Topic; headers: Record<string, unknown> }[] = [];
  const listeners = new Map<string, Listener[]>();
  const emit = (event: string, payload: unknown = {}) => {
    for (const listener of listeners.get(event) ?? []) listener({ payload });
  };
  const broker = {
    running: false,
    runs: 0,
    connects: 0,
    disconnects: 0,
    refuseConnects: 0,
    crashJoins: 0,
    /** When set, a connect waits for it (the client retrying through an outage). */
    connecting: undefined as Promise<void> | undefined,
  };
  /** The group each consumer made joins, namespace included. */
  const joinedGroups: string[] = [];
  const kafka = {
    consumer: ({ groupId }: { groupId: string }) => {
      joinedGroups.push(groupId);
      return fakeConsumer;
    },
  } as unknown as Kafka;
  const fakeConsumer = {
    events: { GROUP_JOIN: 'group-join', CRASH: 'crash', END_BATCH_PROCESS: 'end-batch-process' },
    on: (event: string, listener: Listener) => {
      listeners.set(event, [...(listeners.get(event) ?? []), listener]);
      return () => undefined;
    },
    connect: async () => {
      broker.connects++;
      await broker.connecting;
      if (broker.refuseConnects-- > 0) throw new Error('Connection error: connect ECONNREFUSED 127.0.0.1:9092');
    },
    subscribe: async () => undefined,
    run: async (config: { eachMessage?: typeof eachMessage; eachBatch?: typeof eachBatch }) => {
      broker.runs++;
      eachMessage = config.eachMessage;
      eachBatch = config.eachBatch;
      // kafkajs reports a failed join as a crash (after disconnecting) and still resolves run().
      if (broker.crashJoins-- > 0) return emit('crash', { error: coordinatorLost(), restart: false });
      broker.running = true;
      setImmediate(() => emit('group-join'));
    },
    disconnect: async () => {
      broker.disconnects++;
      broker.running = false;
    },
  };
  const producer = {
    send: async (topic: Topic, messages: { headers: Record<string, unknown> }[]) =>
      void deadLetters.push(...messages.map((m) => ({ topic, headers: m.headers }))),
  } as unknown as KafkaProducerService;
  const topics = { namespace: 'ns.', name: (t: Topic) => `ns.${t}`, ensureTopics: async () => undefined };
  const registry = new Registry();
  const metrics = new KafkaMetrics(registry);
  const supervisor = new ConsumerSupervisor(metrics);
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
    metrics,
    supervisor,
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
    supervisor,
    broker,
    deliver,
    deliverBatch,
    deadLetters,
    registry,
    joinedGroups,
    heartbeats: () => heartbeats,
    failHeartbeats: (error: Error) => (heartbeatError = error),
    emit,
    /** kafkajs's crash: it disconnects the consumer, then says whether it will start it again. */
    crash: (restart: boolean) => {
      broker.running = false;
      emit('crash', { error: coordinatorLost(), restart });
    },
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
    h.crash(true);
    assert.equal(gaps, 2);
  });

  describe('after a crash', () => {
    /** Runs the restart timers (delays of at most 10 s) until `done`, for at most 20 of them. */
    async function restartsUntil(t: TestContext, done: () => boolean): Promise<void> {
      for (let round = 0; round < 20 && !done(); round++) {
        t.mock.timers.tick(10_000);
        await new Promise((resolve) => setImmediate(resolve));
      }
    }

    const restartsCounted = async (registry: Registry) =>
      (await registry.getSingleMetric('keyward_kafka_consumer_restarts_total')?.get())?.values.map((v) => [
        v.labels,
        v.value,
      ]);

    it('starts a consumer kafkajs gave up on again until it joins its group, not consuming meanwhile', async (t) => {
      t.mock.timers.enable({ apis: ['setTimeout'] });
      let gaps = 0;
      const h = harness(async () => undefined, { onGap: () => gaps++ });
      await h.consumer.start();
      assert.deepEqual(h.supervisor.notConsuming(), []);
      // The brokers are still away at the first restart and the coordinator at the second.
      h.broker.refuseConnects = 1;
      h.broker.crashJoins = 1;
      h.crash(false);
      assert.deepEqual(h.supervisor.notConsuming(), ['group'], '/health reports it down');
      assert.equal(gaps, 1, 'messages may have been skipped');
      await restartsUntil(t, () => h.broker.running);
      assert.equal(h.broker.running, true, 'consuming again');
      assert.equal(h.broker.connects, 4, 'the first connect, then one per restart');
      assert.equal(h.broker.runs, 3, 'the first run, then one per restart that connected');
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(h.supervisor.notConsuming(), []);
      assert.ok(gaps >= 2, 'the join after the restarts is a gap too');
      assert.deepEqual(await restartsCounted(h.registry), [[{ group: 'group' }, 3]]);
      await h.consumer.stop();
    });

    it('of a group of its process alone, is named by the group it was given: joined under a suffix new each start', async (t) => {
      t.mock.timers.enable({ apis: ['setTimeout'] });
      const h = harness(async () => undefined, { perProcess: true });
      const other = harness(async () => undefined, { perProcess: true });
      await Promise.all([h.consumer.start(), other.consumer.start()]);
      const [joined, otherJoined] = [...h.joinedGroups, ...other.joinedGroups];
      assert.match(joined, /^ns\.group-[0-9a-f]{12}$/);
      assert.notEqual(joined, otherJoined, 'each process reads every message');
      h.crash(false);
      assert.deepEqual(h.supervisor.notConsuming(), ['group'], '/health names it by its group');
      await restartsUntil(t, () => h.broker.running);
      assert.deepEqual(h.joinedGroups, [joined], 'a restart joins the same group again');
      assert.deepEqual(
        await restartsCounted(h.registry),
        [[{ group: 'group' }, 1]],
        'a label value that stays bounded',
      );
      await Promise.all([h.consumer.stop(), other.consumer.stop()]);
    });

    it('leaves a crash kafkajs restarts from to kafkajs, and is down until it joins', async (t) => {
      t.mock.timers.enable({ apis: ['setTimeout'] });
      const h = harness(async () => undefined);
      await h.consumer.start();
      h.crash(true);
      await restartsUntil(t, () => h.broker.runs > 1);
      assert.equal(h.broker.runs, 1);
      assert.deepEqual(h.supervisor.notConsuming(), ['group']);
      h.emit('group-join');
      assert.deepEqual(h.supervisor.notConsuming(), []);
      assert.deepEqual(await restartsCounted(h.registry), []);
    });

    it('does not start a consumer again once it is stopping, nor count it any more', async (t) => {
      t.mock.timers.enable({ apis: ['setTimeout'] });
      const h = harness(async () => undefined);
      await h.consumer.start();
      h.crash(false);
      await h.consumer.stop();
      await restartsUntil(t, () => h.broker.runs > 1);
      assert.equal(h.broker.runs, 1);
      assert.equal(h.broker.connects, 1);
      assert.deepEqual(h.supervisor.notConsuming(), []);
    });

    it('stops without waiting for a restart still connecting, which then disconnects instead of running', async (t) => {
      t.mock.timers.enable({ apis: ['setTimeout'] });
      const h = harness(async () => undefined);
      await h.consumer.start();
      let brokersBack!: () => void;
      h.broker.connecting = new Promise<void>((resolve) => (brokersBack = resolve));
      h.crash(false);
      await restartsUntil(t, () => h.broker.connects > 1);
      assert.equal(h.broker.connects, 2, 'a restart is connecting');
      await h.consumer.stop();
      const disconnects = h.broker.disconnects;
      brokersBack();
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(h.broker.runs, 1, 'not run again');
      assert.equal(h.broker.disconnects, disconnects + 1, 'the late connection is closed');
    });
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
