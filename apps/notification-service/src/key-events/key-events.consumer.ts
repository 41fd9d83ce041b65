import { Injectable } from '@nestjs/common';
import { KeyEventVerifyKeys, parseSignedKeyEvent, Topic, verifyKeysOf } from '@keyward/contracts';
import { GroupMember, IncomingMessage, KafkaConsumerFactory, ManagedConsumer } from '@keyward/kafka';
import { DeliveriesService } from '../deliveries/deliveries.service';
import { NotificationSettings } from '../config/notification-service.env';

/** The consumer-group member for key events: checks each message's signature and shape, then emails its recipients. */
@Injectable()
export class KeyEventsConsumer extends GroupMember {
  protected readonly consumer: ManagedConsumer;
  private readonly verifyKeys: KeyEventVerifyKeys;

  constructor(
    factory: KafkaConsumerFactory,
    settings: NotificationSettings,
    private readonly deliveries: DeliveriesService,
  ) {
    super();
    this.verifyKeys = verifyKeysOf(settings.KEY_EVENTS_VERIFY_KEYS);
    this.consumer = factory.create({
      groupId: settings.CONSUMER_GROUP,
      topics: [Topic.KeyEvents],
      partitionsConsumedConcurrently: settings.CONSUMER_PARTITIONS_AT_ONCE,
      handle: (message) => this.onKeyEvent(message),
    });
  }

  private async onKeyEvent({ message }: IncomingMessage): Promise<void> {
    await this.deliveries.deliverAll(parseSignedKeyEvent(message, this.verifyKeys));
  }
}
