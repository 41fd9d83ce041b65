import { DynamicModule, Module } from '@nestjs/common';
import { getModelToken, ModelDefinition, MongooseModule } from '@nestjs/mongoose';
import { Model } from 'mongoose';
import { KeyEventSigning } from './key-event-signing';
import { OutboxFields } from './outbox-entry.schema';
import { OutboxRelayService } from './outbox-relay.service';
import { OutboxMetrics } from './outbox.metrics';

/**
 * One relay per process (`forRoot`, global); each feature whose documents carry an outbox
 * registers its collection with `forFeature`, so the relay knows its clients only as OutboxFields.
 */
@Module({})
export class OutboxModule {
  static forRoot(): DynamicModule {
    return {
      module: OutboxModule,
      global: true,
      providers: [OutboxRelayService, OutboxMetrics, KeyEventSigning],
      exports: [OutboxRelayService, KeyEventSigning],
    };
  }

  /** The relay publishes the events waiting in this model's documents (a loop of its own per collection). */
  static forFeature(model: ModelDefinition): DynamicModule {
    return {
      module: OutboxModule,
      imports: [MongooseModule.forFeature([model])],
      providers: [
        {
          provide: `outbox:${model.name}`,
          inject: [getModelToken(model.name), OutboxRelayService],
          useFactory: (documents: Model<OutboxFields>, relay: OutboxRelayService) => relay.relayFrom(documents),
        },
      ],
    };
  }
}
