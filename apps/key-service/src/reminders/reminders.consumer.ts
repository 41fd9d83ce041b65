import { Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { parseRecordReminderDue, Topic } from '@keyward/contracts';
import { IncomingMessage, KafkaConsumerFactory, ManagedConsumer } from '@keyward/kafka';
import { RemindersService } from './reminders.service';

export const REMINDERS_CONSUMER_GROUP = 'key-service-reminders';

/** Consumer-group member for the scheduler's commands: validates each one, then records it. */
@Injectable()
export class RemindersConsumer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly consumer: ManagedConsumer;

  constructor(
    factory: KafkaConsumerFactory,
    private readonly reminders: RemindersService,
  ) {
    this.consumer = factory.create({
      groupId: REMINDERS_CONSUMER_GROUP,
      topics: [Topic.KeyReminderCommands],
      handle: (message) => this.onRecordReminderDue(message),
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.consumer.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.consumer.stop();
  }

  private async onRecordReminderDue({ message }: IncomingMessage): Promise<void> {
    await this.reminders.recordDue(parseRecordReminderDue(message.value));
  }
}
