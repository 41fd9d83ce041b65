import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Registry } from 'prom-client';
import { DeliveriesRepository } from './deliveries.repository';
import type { DeliveryOutcome } from './deliveries.service';

/**
 * Delivery attempts by outcome, the relay's unanswered lookups, and the deliveries still waiting to
 * be sent, in the service's registry.
 */
@Injectable()
export class DeliveryMetrics {
  private readonly attempts: Counter<'outcome'>;
  private readonly relayLookupFailures: Counter;

  constructor(registry: Registry, deliveries: DeliveriesRepository) {
    this.attempts = new Counter({
      name: 'keyward_delivery_attempts_total',
      help: 'Email delivery attempts by outcome: sent, reconciled (a dead worker’s send found at the relay, recorded without sending again), retrying (transient failure, retried later), failed (permanent or out of time), skipped (not due, or taken by another worker).',
      labelNames: ['outcome'],
      registers: [registry],
    });
    this.relayLookupFailures = new Counter({
      name: 'keyward_delivery_relay_lookup_failures_total',
      help: 'Lookups at the relay (MAILPIT_API_URL) that got no answer: the send a dead worker left is not sent again until one does.',
      registers: [registry],
    });
    new Gauge({
      name: 'keyward_delivery_retry_queue',
      help: 'Deliveries pending or being sent (all workers: read from the database at each scrape).',
      registers: [registry],
      async collect() {
        this.set(await deliveries.waiting());
      },
    });
  }

  attempted(outcome: DeliveryOutcome): void {
    this.attempts.inc({ outcome });
  }

  relayUnanswered(): void {
    this.relayLookupFailures.inc();
  }
}
