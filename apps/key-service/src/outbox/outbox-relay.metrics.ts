import { Injectable } from '@nestjs/common';
import { Counter, Registry } from 'prom-client';

/** What the relay counts as it publishes. */
@Injectable()
export class OutboxRelayMetrics {
  /** Documents whose lease another relay took while this one published their events. */
  readonly leasesLost: Counter;

  constructor(registry: Registry) {
    this.leasesLost = new Counter({
      name: 'keyward_outbox_leases_lost_total',
      help: 'Outbox documents whose lease another relay took while this relay published their events: those events go out twice (consumers dedupe by event id).',
      registers: [registry],
    });
  }
}
