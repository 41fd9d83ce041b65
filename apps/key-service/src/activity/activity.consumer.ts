import { Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { parseSignedKeyEvent, Topic } from '@keyward/contracts';
import { IncomingMessage, KafkaConsumerFactory, ManagedConsumer } from '@keyward/kafka';
import { KeyEventSigning } from '../outbox/key-event-signing';
import { activitiesOf } from './activity-projection';
import { ActivityRepository } from './activity.repository';

/**
 * Projects every key event into the activity read model. One consumer group for all key-service
 * instances; from the oldest event kept, so a new deployment fills in what the topic still holds.
 */
@Injectable()
export class ActivityConsumer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly consumer: ManagedConsumer;

  constructor(
    factory: KafkaConsumerFactory,
    private readonly activity: ActivityRepository,
    private readonly signing: KeyEventSigning,
  ) {
    this.consumer = factory.create({
      groupId: 'key-service-activity',
      topics: [Topic.KeyEvents],
      fromBeginning: true,
      handle: (message) => this.onKeyEvent(message),
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.consumer.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.consumer.stop();
  }

  private async onKeyEvent({ message }: IncomingMessage): Promise<void> {
    for (const entry of activitiesOf(parseSignedKeyEvent(message, this.signing.verifyKeys)))
      await this.activity.record(entry);
  }
}
