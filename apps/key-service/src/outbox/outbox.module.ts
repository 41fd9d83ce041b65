import { DynamicModule, Module, Provider, Type } from '@nestjs/common';
import { KeyEventSigning } from './key-event-signing';
import { OutboxRelayService } from './outbox-relay.service';
import { OutboxStore } from './outbox-store';
import { OutboxRelayMetrics } from './outbox-relay.metrics';
import { OutboxMetrics } from './outbox.metrics';

/**
 * One relay per process (`forRoot`, global); each feature whose documents carry an outbox
 * registers its collection with `relayOutboxOf`, so the relay knows its clients only as OutboxStores.
 */
@Module({})
export class OutboxModule {
  static forRoot(): DynamicModule {
    return {
      module: OutboxModule,
      global: true,
      providers: [OutboxRelayService, OutboxRelayMetrics, OutboxMetrics, KeyEventSigning],
      exports: [OutboxRelayService, KeyEventSigning],
    };
  }
}

/**
 * A provider for the module of the feature that owns `collection`: the relay publishes the events
 * waiting in its documents (a loop of its own) through the `outbox` of `owner`, the collection's repository.
 */
export function relayOutboxOf(collection: string, owner: Type<{ outbox: OutboxStore }>): Provider {
  return {
    provide: `outbox:${collection}`,
    inject: [owner, OutboxRelayService],
    useFactory: ({ outbox }: { outbox: OutboxStore }, relay: OutboxRelayService) => relay.relayFrom(collection, outbox),
  };
}
