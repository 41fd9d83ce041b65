import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HealthIndicatorService } from '@nestjs/terminus';
import { Consumer, Kafka } from 'kafkajs';
import { Registry } from 'prom-client';
import { ConsumerSupervisor } from './consumer-supervisor';
import { KafkaHealthIndicator } from './kafka.health';
import { KafkaMetrics } from './kafka.metrics';

/** A kafkajs consumer that only records its listeners, for the test to emit its events. */
function consumer() {
  const listeners = new Map<string, (event: { payload: unknown }) => void>();
  const fake = {
    events: { GROUP_JOIN: 'group-join', CRASH: 'crash' },
    on: (event: string, listener: (event: { payload: unknown }) => void) => void listeners.set(event, listener),
  } as unknown as Consumer;
  const emit = (event: string, payload: unknown = {}) => listeners.get(event)!({ payload });
  return { fake, emit };
}

describe('KafkaHealthIndicator', () => {
  const kafka = {
    admin: () => ({ connect: async () => undefined, describeCluster: async () => ({ brokers: [{}, {}, {}] }) }),
  } as unknown as Kafka;

  it('is down while a consumer the process started has not joined its group, or crashed and not joined since', async () => {
    const supervisor = new ConsumerSupervisor(new KafkaMetrics(new Registry()));
    const health = new KafkaHealthIndicator(kafka, new HealthIndicatorService(), supervisor);
    const emails = consumer();
    const reminders = consumer();
    supervisor.supervise(emails.fake, { group: 'notification-service', run: async () => undefined });
    const remindersSupervision = supervisor.supervise(reminders.fake, {
      group: 'reminders',
      run: async () => undefined,
    });
    assert.deepEqual(await health.check(), {
      kafka: {
        status: 'down',
        brokers: 3,
        message: 'consumers not consuming',
        notConsuming: ['notification-service', 'reminders'],
      },
    });
    emails.emit('group-join');
    reminders.emit('group-join');
    assert.deepEqual(await health.check(), { kafka: { status: 'up', brokers: 3 } });
    // kafkajs restarts it itself: down all the same until it has joined again.
    reminders.emit('crash', { error: new Error('The coordinator is loading'), restart: true });
    assert.equal((await health.check()).kafka.status, 'down');
    reminders.emit('group-join');
    assert.equal((await health.check()).kafka.status, 'up');
    // A consumer stopped on purpose (shutdown) is not counted.
    reminders.emit('crash', { error: new Error('The coordinator is loading'), restart: true });
    await remindersSupervision.stop();
    assert.equal((await health.check()).kafka.status, 'up');
  });
});
