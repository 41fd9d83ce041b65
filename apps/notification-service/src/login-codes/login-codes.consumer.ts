import { Injectable } from '@nestjs/common';
import { parseOneTimeCodeRequested, Topic } from '@keyward/contracts';
import { GroupMember, IncomingMessage, KafkaConsumerFactory, ManagedConsumer } from '@keyward/kafka';
import { DeliveriesService } from '../deliveries/deliveries.service';
import { EmailsService } from '../emails/emails.service';
import { NotificationSettings } from '../config/notification-service.env';

/**
 * Emails one-time codes (to sign in, or to confirm closing an account). Its own consumer group, so a sign-in never waits behind a backlog
 * of key events.
 */
@Injectable()
export class LoginCodesConsumer extends GroupMember {
  protected readonly consumer: ManagedConsumer;

  constructor(
    factory: KafkaConsumerFactory,
    settings: NotificationSettings,
    private readonly emails: EmailsService,
    private readonly deliveries: DeliveriesService,
  ) {
    super();
    this.consumer = factory.create({
      groupId: `${settings.CONSUMER_GROUP}.login-codes`,
      topics: [Topic.LoginCodes],
      handle: (message) => this.onLoginCodeRequested(message),
    });
  }

  private async onLoginCodeRequested({ message }: IncomingMessage): Promise<void> {
    const request = parseOneTimeCodeRequested(message.value);
    // A code sealed under another key is dead-lettered now rather than failing at send time.
    this.emails.openLoginCode(request);
    await this.deliveries.deliverAll(request);
  }
}
