import { Injectable } from '@nestjs/common';
import { parseSignedKeyEvent, Topic } from '@keyward/contracts';
import { GroupMember, KafkaConsumerFactory, ManagedConsumer } from '@keyward/kafka';
import { KeyEventSigning } from '../outbox/key-event-signing';
import { UsersRepository } from '../users/users.repository';
import { ActivityEntry } from './activity-entry.schema';
import { activitiesOf } from './activity-projection';
import { ActivityRepository } from './activity.repository';

/**
 * Projects every key event into the activity read model. One consumer group for all key-service
 * instances; from the oldest event kept, so a new deployment fills in what the topic still holds.
 * What one fetch brings is recorded at once: a look-up per account in it and one insert, instead
 * of both for every event (a burst of creations put two commands per key in the database's queue).
 */
@Injectable()
export class ActivityConsumer extends GroupMember {
  protected readonly consumer: ManagedConsumer<ActivityEntry[]>;

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
      parse: ({ message }) => activitiesOf(parseSignedKeyEvent(message, this.signing.verifyKeys)),
      handleBatch: (batch) => this.onKeyEvents(batch.flat()),
    });
  }

  private async onKeyEvents(entries: ActivityEntry[]): Promise<void> {
    // A closed account keeps no activity: an event projected late (or replayed) is not recorded.
    const open = new Set<string>();
    for (const ownerId of new Set(entries.map((entry) => entry.ownerId))) {
      const owner = await this.users.findById(ownerId);
      if (owner && !owner.closingAt) open.add(ownerId);
    }
    await this.activity.record(entries.filter((entry) => open.has(entry.ownerId)));
  }
}
