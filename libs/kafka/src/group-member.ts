import { OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ManagedConsumer } from './kafka-consumer.factory';

/**
 * A consumer class's lifecycle: its group member joins when the application has started and
 * leaves when it shuts down. A subclass creates `consumer` (KafkaConsumerFactory.create) in its
 * constructor with the handler it owns.
 */
export abstract class GroupMember implements OnApplicationBootstrap, OnApplicationShutdown {
  protected abstract readonly consumer: ManagedConsumer;

  async onApplicationBootstrap(): Promise<void> {
    await this.consumer.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.consumer.stop();
  }
}
