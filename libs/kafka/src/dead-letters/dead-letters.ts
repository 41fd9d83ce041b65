import { randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { DeadLetterHeader, KEY_EVENT_SIGNATURE_HEADER, KeyEventSigner, signKeyEvent, Topic } from '@keyward/contracts';
import { IHeaders, Kafka } from 'kafkajs';
import { KAFKA_CLIENT } from '../kafka.tokens';
import { KafkaProducerService } from '../kafka-producer.service';
import { KafkaTopicsService } from '../kafka-topics.service';

/** One message on the dead-letter topic, with where it came from and why it was parked. */
export interface DeadLetter {
  partition: number;
  offset: string;
  /** When it was dead-lettered (epoch ms, as text, as Kafka gives it). */
  timestamp: string;
  key: Buffer | null;
  value: Buffer;
  headers: IHeaders;
  reason: string;
  consumer: string;
  sourceTopic: string;
  sourcePartition: string;
  sourceOffset: string;
}

const DEAD_LETTER_HEADERS = new Set<string>(Object.values(DeadLetterHeader));

/**
 * The dead-letter topic of one deployment (namespace), for operators: read every letter, and put
 * chosen ones back on the topic they came from. A replayed message is an ordinary redelivery to
 * every consumer of that topic, all of which dedupe by eventId (notification-service by
 * (eventId, recipient)), so replaying twice sends nobody a second email. A message that is still
 * invalid is dead-lettered again.
 */
@Injectable()
export class DeadLetters {
  constructor(
    @Inject(KAFKA_CLIENT) private readonly kafka: Kafka,
    private readonly topics: KafkaTopicsService,
    private readonly producer: KafkaProducerService,
  ) {}

  get topic(): string {
    return this.topics.name(Topic.DeadLetter);
  }

  /** Every letter on the topic now, in partition and offset order. */
  async read(): Promise<DeadLetter[]> {
    const admin = this.kafka.admin();
    await admin.connect();
    const groupId = `${this.topics.namespace}dlq-replay-${randomBytes(4).toString('hex')}`;
    try {
      const ends = new Map<number, bigint>();
      for (const { partition, low, high } of await admin.fetchTopicOffsets(this.topic)) {
        if (BigInt(high) > BigInt(low)) ends.set(partition, BigInt(high) - 1n);
      }
      const letters: DeadLetter[] = [];
      if (ends.size === 0) return letters;
      const consumer = this.kafka.consumer({ groupId, allowAutoTopicCreation: false });
      await consumer.connect();
      try {
        await consumer.subscribe({ topic: this.topic, fromBeginning: true });
        await new Promise<void>((resolve, reject) => {
          consumer
            .run({
              eachMessage: async ({ partition, message }) => {
                letters.push(toDeadLetter(partition, message));
                if (BigInt(message.offset) >= (ends.get(partition) ?? -1n)) ends.delete(partition);
                if (ends.size === 0) resolve();
              },
            })
            .catch(reject);
        });
      } finally {
        await consumer.disconnect();
      }
      return letters.sort((a, b) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)));
    } finally {
      // The reading group is of no further use; leave no trace of it on the broker.
      await admin.deleteGroups([groupId]).catch(() => undefined);
      await admin.disconnect();
    }
  }

  /**
   * Puts each letter back at the end of its source topic, with its key, bytes and original headers.
   * With `signer`, a key event without a signature (dead-lettered by a version before key events
   * were signed) is signed on its way back: the operator vouches for the letters chosen.
   */
  async replay(letters: DeadLetter[], signer?: KeyEventSigner): Promise<void> {
    const targets = letters.map((letter) => this.sourceTopicOf(letter));
    for (const [i, letter] of letters.entries()) {
      const headers = Object.fromEntries(
        Object.entries(letter.headers).filter(([name]) => !DEAD_LETTER_HEADERS.has(name)),
      );
      headers[DeadLetterHeader.ReplayedFrom] = `${this.topic}[${letter.partition}]@${letter.offset}`;
      if (signer && targets[i] === Topic.KeyEvents && !headers[KEY_EVENT_SIGNATURE_HEADER]) {
        headers[KEY_EVENT_SIGNATURE_HEADER] = signKeyEvent(letter.value, signer);
      }
      await this.producer.send(targets[i], [
        {
          key: letter.key?.toString() ?? `${letter.sourcePartition}:${letter.sourceOffset}`,
          value: letter.value,
          headers,
        },
      ]);
    }
  }

  /** Only a topic of this deployment that consumers read: a letter's headers are not trusted blindly. */
  private sourceTopicOf(letter: DeadLetter): Topic {
    const contract = Object.values(Topic).find((t) => this.topics.name(t) === letter.sourceTopic);
    if (!contract || contract === Topic.DeadLetter) {
      throw new Error(`dead letter ${letter.partition}@${letter.offset}: unknown source topic "${letter.sourceTopic}"`);
    }
    return contract;
  }
}

function toDeadLetter(
  partition: number,
  message: { offset: string; timestamp: string; key: Buffer | null; value: Buffer | null; headers?: IHeaders },
): DeadLetter {
  const headers = message.headers ?? {};
  const text = (name: string) => headers[name]?.toString() ?? '';
  return {
    partition,
    offset: message.offset,
    timestamp: message.timestamp,
    key: message.key,
    value: message.value ?? Buffer.alloc(0),
    headers,
    reason: text(DeadLetterHeader.Reason),
    consumer: text(DeadLetterHeader.Consumer),
    sourceTopic: text(DeadLetterHeader.SourceTopic),
    sourcePartition: text(DeadLetterHeader.SourcePartition),
    sourceOffset: text(DeadLetterHeader.SourceOffset),
  };
}
