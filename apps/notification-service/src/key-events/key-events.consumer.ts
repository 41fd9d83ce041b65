import { Injectable } from '@nestjs/common';
import { KEY_REVOKED, KeyEventVerifyKeys, parseSignedKeyEvent, Topic, verifyKeysOf } from '@keyward/contracts';
import { GroupMember, IncomingMessage, KafkaConsumerFactory, ManagedConsumer } from '@keyward/kafka';
import { DeliveriesService } from '../deliveries/deliveries.service';
import { NotificationSettings } from '../config/notification-service.env';

/**
 * The consumer-group member for key events: checks each message's signature and shape, then emails
 * its recipients; a key's last event of a closed account then erases what this service holds about
 * the account.
 */
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
    const event = parseSignedKeyEvent(message, this.verifyKeys);
    await this.deliveries.deliverAll(event);
    // After its own emails: a crash in between redelivers the event, which sends nothing again and erases.
    if (event.type === KEY_REVOKED && event.payload.accountClosed) {
      await this.deliveries.eraseAccount(event.keyId, event.owner);
    }
  }
}
