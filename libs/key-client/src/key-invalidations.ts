import { Logger } from '@nestjs/common';
import {
  InvalidMessageError,
  KEY_EVENTS_INVALIDATING_VERIFICATION,
  KeyEventType,
  parseKeyEvent,
  Topic,
} from '@keyward/contracts';
import { KafkaConsumerFactory, ManagedConsumer } from '@keyward/kafka';

const invalidating = new Set<KeyEventType>(KEY_EVENTS_INVALIDATING_VERIFICATION);

/**
 * Follows the key-events topic in a consumer group of this process alone (`group` and a random
 * suffix; metrics name it `group`), so every instance sees every event and drops the keys whose cached verification may be wrong.
 * It starts at the newest events: an instance's cache begins empty, so older ones cannot matter.
 * After a crash or a second join it starts there again and may have passed over some: then it drops
 * every cached answer.
 * Messages that fail validation are skipped here; the event consumers that act on them park them.
 */
export function keyInvalidationConsumer(
  consumers: KafkaConsumerFactory,
  group: string,
  cache: { dropKey(keyId: string): void; dropAll(): void },
): ManagedConsumer {
  const logger = new Logger('KeyInvalidations');
  return consumers.create({
    groupId: group,
    perProcess: true,
    topics: [Topic.KeyEvents],
    fromBeginning: false,
    onGap: () => {
      cache.dropAll();
      logger.warn('key events may have been missed (consumer restarted): dropped every cached verification');
    },
    handle: async ({ message }) => {
      let event;
      try {
        event = parseKeyEvent(message.value);
      } catch (error) {
        if (error instanceof InvalidMessageError) return;
        throw error;
      }
      if (!invalidating.has(event.type)) return;
      cache.dropKey(event.keyId);
      logger.debug({ keyId: event.keyId, type: event.type }, 'dropped cached verification');
    },
  });
}
