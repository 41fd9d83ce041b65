import { Injectable } from '@nestjs/common';
import { parseRecordReminderDue, Topic } from '@keyward/contracts';
import { GroupMember, IncomingMessage, KafkaConsumerFactory, ManagedConsumer } from '@keyward/kafka';
import { RemindersService } from './reminders.service';

export const REMINDERS_CONSUMER_GROUP = 'key-service-reminders';

/** Consumer-group member for the scheduler's commands: validates each one, then records it. */
@Injectable()
export class RemindersConsumer extends GroupMember {
  protected readonly consumer: ManagedConsumer;

  constructor(
    factory: KafkaConsumerFactory,
    private readonly reminders: RemindersService,
  ) {
    super();
    this.consumer = factory.create({
      groupId: REMINDERS_CONSUMER_GROUP,
      topics: [Topic.KeyReminderCommands],
      handle: (message) => this.onRecordReminderDue(message),
    });
  }

  private async onRecordReminderDue({ message }: IncomingMessage): Promise<void> {
    await this.reminders.recordDue(parseRecordReminderDue(message.value));
  }
}
