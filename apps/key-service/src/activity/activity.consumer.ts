import { Injectable } from '@nestjs/common';
import { parseSignedKeyEvent, Topic } from '@keyward/contracts';
import { GroupMember, IncomingMessage, KafkaConsumerFactory, ManagedConsumer } from '@keyward/kafka';
import { KeyEventSigning } from '../outbox/key-event-signing';
import { UsersRepository } from '../users/users.repository';
import { activitiesOf } from './activity-projection';
import { ActivityRepository } from './activity.repository';

/**
 * Projects every key event into the activity read model. One consumer group for all key-service
 * instances; from the oldest event kept, so a new deployment fills in what the topic still holds.
 */
@Injectable()
export class ActivityConsumer extends GroupMember {
  protected readonly consumer: ManagedConsumer;

  constructor(
    factory: KafkaConsumerFactory,
    private readonly activity: ActivityRepository,
    private readonly signing: KeyEventSigning,
    private readonly users: UsersRepository,
  ) {
    super();
    this.consumer = factory.create({
      groupId: 'key-service-activity',
      topics: [Topic.KeyEvents],
      fromBeginning: true,
      handle: (message) => this.onKeyEvent(message),
    });
  }

  private async onKeyEvent({ message }: IncomingMessage): Promise<void> {
    const entries = activitiesOf(parseSignedKeyEvent(message, this.signing.verifyKeys));
    if (entries.length === 0) return;
    // A closed account keeps no activity: an event projected late (or replayed) is not recorded.
    const owner = await this.users.findById(entries[0].ownerId);
    if (!owner || owner.closingAt) return;
    for (const entry of entries) await this.activity.record(entry);
  }
}
