import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Registry } from 'prom-client';

/** What the process's producer and consumers do, in the service's Prometheus registry. */
@Injectable()
export class KafkaMetrics {
  /** Messages the broker acknowledged, by topic (key events, commands, login codes, dead letters). */
  readonly published: Counter<'topic'>;
  /** Messages behind the end of each partition after the last batch a consumer group handled. */
  readonly consumerLag: Gauge<'group' | 'topic' | 'partition'>;
  readonly deadLetters: Counter<'group' | 'topic'>;
  /** Restarts of a crashed consumer kafkajs would have left stopped (ConsumerSupervisor). */
  readonly consumerRestarts: Counter<'group'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.published = new Counter({
      name: 'keyward_kafka_messages_published_total',
      help: 'Messages published and acknowledged by the brokers, by topic.',
      labelNames: ['topic'],
      registers,
    });
    this.consumerLag = new Gauge({
      name: 'keyward_kafka_consumer_lag',
      help: 'Messages not yet handled, per consumer group and partition, as of its last batch.',
      labelNames: ['group', 'topic', 'partition'],
      registers,
    });
    this.deadLetters = new Counter({
      name: 'keyward_kafka_dead_letters_total',
      help: 'Messages parked on the dead-letter topic, by consumer group and source topic.',
      labelNames: ['group', 'topic'],
      registers,
    });
    this.consumerRestarts = new Counter({
      name: 'keyward_kafka_consumer_restarts_total',
      help: 'Restarts of a crashed consumer that kafkajs does not restart, by consumer group.',
      labelNames: ['group'],
      registers,
    });
  }
}
