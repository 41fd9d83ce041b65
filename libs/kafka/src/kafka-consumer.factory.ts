import { Inject, Injectable, Logger } from '@nestjs/common';
import { DeadLetterHeader, InvalidMessageError, Topic } from '@keyward/contracts';
import { Consumer, EachMessagePayload, Kafka, KafkaMessage } from 'kafkajs';
import { KAFKA_CLIENT } from './kafka.tokens';
import { KafkaProducerService } from './kafka-producer.service';
import { KafkaTopicsService } from './kafka-topics.service';

export interface IncomingMessage {
  topic: Topic;
  partition: number;
  message: KafkaMessage;
  heartbeat(): Promise<void>;
}

export interface ConsumerOptions {
  groupId: string;
  topics: Topic[];
  handle(message: IncomingMessage): Promise<void>;
  /** Attempts for an unexpected failure before the message is dead-lettered (default 5). */
  maxAttempts?: number;
  /** Start of the exponential backoff between attempts (default 200 ms). */
  retryBaseMs?: number;
  /** Partitions handled at once (default 1); messages within a partition stay in order. */
  partitionsConsumedConcurrently?: number;
  /** Where a group with no committed offsets starts: the oldest message (default) or only new ones. */
  fromBeginning?: boolean;
}

/**
 * Group timings for every consumer of ours: a dead member is noticed within 10 s and a rebalance
 * (each service start in tests) settles quickly; heartbeats every second keep a live one in.
 */
export const CONSUMER_GROUP_TIMINGS = { sessionTimeout: 10_000, rebalanceTimeout: 10_000, heartbeatInterval: 1_000 };

/**
 * A consumer-group member that never stalls a partition forever: a message that fails validation
 * (InvalidMessageError) goes straight to the dead-letter topic; any other failure is retried with
 * exponential backoff and jitter, then dead-lettered, and the consumer carries on with the next.
 * Offsets are committed only after a message is handled or dead-lettered (at-least-once).
 */
export class ManagedConsumer {
  private readonly logger: Logger;
  private readonly consumer: Consumer;

  constructor(
    kafka: Kafka,
    private readonly producer: KafkaProducerService,
    private readonly topics: KafkaTopicsService,
    private readonly options: ConsumerOptions,
  ) {
    this.logger = new Logger(`Consumer:${options.groupId}`);
    this.consumer = kafka.consumer({
      groupId: topics.namespace + options.groupId,
      ...CONSUMER_GROUP_TIMINGS,
      allowAutoTopicCreation: false,
    });
  }

  /** Resolves once the group is joined and partitions are assigned. */
  async start(): Promise<void> {
    await this.topics.ensureTopics([...this.options.topics, Topic.DeadLetter]);
    const joined = new Promise<void>((resolve) => {
      const off = this.consumer.on(this.consumer.events.GROUP_JOIN, () => {
        off();
        resolve();
      });
    });
    await this.consumer.connect();
    await this.consumer.subscribe({
      topics: this.options.topics.map((t) => this.topics.name(t)),
      fromBeginning: this.options.fromBeginning ?? true,
    });
    await this.consumer.run({
      partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently ?? 1,
      eachMessage: (payload) => this.onMessage(payload),
    });
    await joined;
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect();
  }

  private async onMessage({ topic, partition, message, heartbeat }: EachMessagePayload): Promise<void> {
    const contractTopic = this.options.topics.find((t) => this.topics.name(t) === topic) as Topic;
    const incoming: IncomingMessage = {
      topic: contractTopic,
      partition,
      message,
      heartbeat,
    };
    const maxAttempts = this.options.maxAttempts ?? 5;
    for (let attempt = 1; ; attempt++) {
      try {
        await whileBeating(heartbeat, () => this.options.handle(incoming));
        return;
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        if (error instanceof InvalidMessageError) {
          return this.deadLetter(incoming, `invalid: ${reason}`);
        }
        if (attempt >= maxAttempts) {
          return this.deadLetter(incoming, `failed after ${attempt} attempts: ${reason}`);
        }
        const delay = backoff(attempt, this.options.retryBaseMs ?? 200);
        this.logger.warn(
          `${topic}[${partition}]@${message.offset} attempt ${attempt} failed (${reason}); retrying in ${delay} ms`,
        );
        await sleep(delay);
        await heartbeat();
      }
    }
  }

  private async deadLetter(incoming: IncomingMessage, reason: string): Promise<void> {
    const { topic, partition, message } = incoming;
    this.logger.error(`${topic}[${partition}]@${message.offset} dead-lettered: ${reason}`);
    await this.producer.send(Topic.DeadLetter, [
      {
        key: message.key?.toString() ?? `${topic}:${partition}:${message.offset}`,
        value: message.value ?? Buffer.alloc(0),
        headers: {
          ...message.headers,
          [DeadLetterHeader.Reason]: reason,
          [DeadLetterHeader.SourceTopic]: this.topics.name(topic),
          [DeadLetterHeader.SourcePartition]: String(partition),
          [DeadLetterHeader.SourceOffset]: message.offset,
          [DeadLetterHeader.Consumer]: this.options.groupId,
        },
      },
    ]);
  }
}

/** Exponential backoff with full jitter, capped at 30 s. */
export function backoff(attempt: number, baseMs: number): number {
  const ceiling = Math.min(30_000, baseMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * kafkajs heartbeats only between messages: a handler slower than the session timeout (a slow SMTP
 * server) would otherwise be dropped from the group and its partition reassigned mid-message.
 */
async function whileBeating(heartbeat: () => Promise<void>, work: () => Promise<void>): Promise<void> {
  const timer = setInterval(() => heartbeat().catch(() => undefined), 1_000);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
}

@Injectable()
export class KafkaConsumerFactory {
  constructor(
    @Inject(KAFKA_CLIENT) private readonly kafka: Kafka,
    private readonly producer: KafkaProducerService,
    private readonly topics: KafkaTopicsService,
  ) {}

  create(options: ConsumerOptions): ManagedConsumer {
    return new ManagedConsumer(this.kafka, this.producer, this.topics, options);
  }
}
