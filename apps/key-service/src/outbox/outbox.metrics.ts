import { Injectable } from '@nestjs/common';
import { Gauge, Registry } from 'prom-client';
import { OutboxRelayService } from './outbox-relay.service';

/**
 * The outbox's backlog, read from the database at each scrape (every instance reports the same
 * shared backlog). Published events are counted by topic in keyward_kafka_messages_published_total.
 */
@Injectable()
export class OutboxMetrics {
  constructor(registry: Registry, relay: OutboxRelayService) {
    let last: Promise<{ events: number; oldestAt?: Date }> | undefined;
    // One query serves both gauges of a scrape (the registry collects them together).
    const backlog = () => (last ??= relay.backlog().finally(() => setImmediate(() => (last = undefined))));
    new Gauge({
      name: 'keyward_outbox_backlog',
      help: 'Events written with their change but not yet published to Kafka.',
      registers: [registry],
      async collect() {
        this.set((await backlog()).events);
      },
    });
    new Gauge({
      name: 'keyward_outbox_oldest_age_seconds',
      help: 'Age of the oldest event waiting in the outbox (0 when none waits).',
      registers: [registry],
      async collect() {
        const { oldestAt } = await backlog();
        this.set(oldestAt ? Math.max(0, (Date.now() - oldestAt.getTime()) / 1000) : 0);
      },
    });
  }
}
