import { Inject, Injectable, Logger } from '@nestjs/common';
import { DeadLetterHeader, InvalidMessageError, Topic } from '@keyward/contracts';
import { Consumer, ConsumerRunConfig, EachBatchPayload, EachMessagePayload, Kafka, KafkaMessage } from 'kafkajs';
import { randomBytes } from 'node:crypto';
import { backoff } from './backoff';
import { ConsumerSupervisor, Supervision } from './consumer-supervisor';
import { KafkaMetrics } from './kafka.metrics';
import { KAFKA_CLIENT } from './kafka.tokens';
import { KafkaProducerService } from './kafka-producer.service';
import { KafkaTopicsService } from './kafka-topics.service';

export interface IncomingMessage {
  topic: Topic;
  partition: number;
  message: KafkaMessage;
  heartbeat(): Promise<void>;
}

/** A handler of one message at a time. */
export interface MessageHandler {
  handle(message: IncomingMessage): Promise<void>;
}

/**
 * A handler of what one fetch brought from one partition, at once (one write for many events):
 * `parse` throws InvalidMessageError for a message no retry can fix, which is dead-lettered; the
 * rest go to `handleBatch` together, in partition order, retried together as one message would be.
 */
export interface BatchHandler<T> {
  parse(message: IncomingMessage): T;
  handleBatch(items: T[]): Promise<void>;
}

export type ConsumerOptions<T = unknown> = ConsumerSettings & (MessageHandler | BatchHandler<T>);

export interface ConsumerSettings {
  /** The consumer group without the topic namespace; it names the consumer in logs, metrics and /health. */
  groupId: string;
  /**
   * Joins a group of this process alone (groupOfThisProcess(groupId)), so every instance reads every
   * message; logs, metrics and /health still name it by groupId.
   */
  perProcess?: boolean;
  topics: Topic[];
  /** Start of the exponential backoff between attempts at a message that failed (default 200 ms). */
  retryBaseMs?: number;
  /**
   * Longest wait between attempts (default 5 s): once a dependency is back, its partitions resume
   * within this long.
   */
  retryMaxMs?: number;
  /** Partitions handled at once (default 1); messages within a partition stay in order. */
  partitionsConsumedConcurrently?: number;
  /** Where a group with no committed offsets starts: the oldest message (default) or only new ones. */
  fromBeginning?: boolean;
  /**
   * Called when messages may have been skipped: the consumer crashed, or joined its group again
   * after the first time. A group that starts at the newest messages and has committed nothing
   * starts there again, passing over what was published in between.
   */
  onGap?: () => void;
}

/**
 * Group timings for every consumer of ours: a dead member is noticed within 10 s and a rebalance
 * (each service start in tests) settles quickly; heartbeats every second keep a live one in. A
 * fetch waits at most a second for messages: disconnecting waits for the fetch in flight, and a
 * service stops its consumers one module after another (kafkajs's 5 s made key-service take 9 s).
 */
export const CONSUMER_GROUP_TIMINGS = {
  sessionTimeout: 10_000,
  rebalanceTimeout: 10_000,
  heartbeatInterval: 1_000,
  maxWaitTimeInMs: 1_000,
};

/**
 * A consumer group of this process alone, new each start: `group` and a random suffix. Logs, metrics
 * and /health name such a group by `group` alone, so their label values stay bounded however many
 * instances start and restart.
 */
export function groupOfThisProcess(group: string): string {
  return `${group}-${randomBytes(6).toString('hex')}`;
}

/** kafkajs errors after which this member may no longer own the partition: stop and rejoin. */
const LOST_PARTITION = new Set([
  'REBALANCE_IN_PROGRESS',
  'NOT_COORDINATOR_FOR_GROUP',
  'ILLEGAL_GENERATION',
  'UNKNOWN_MEMBER_ID',
]);

/** Thrown out of a held message when the consumer stops, so its offset is not committed. */
export class ConsumerStoppedError extends Error {
  constructor() {
    super('consumer stopped while a message was waiting for a retry');
    this.name = 'ConsumerStoppedError';
  }
}

/**
 * A consumer-group member that never loses a message to an outage: a message that fails validation
 * (InvalidMessageError) goes straight to the dead-letter topic, as no retry can fix it; any other
 * failure (the database, the broker, SMTP behind a handler) is taken as transient and the message
 * is retried in place with capped exponential backoff for as long as it takes. Retrying in place
 * holds that partition (later messages of the same keys wait behind it, so per-key order holds)
 * while other partitions carry on, and the member keeps heartbeating so the group does not
 * rebalance. If the group does rebalance or the consumer stops, the message is given up
 * uncommitted and whoever owns the partition next starts again from it.
 * Offsets are committed only after a message is handled or dead-lettered (at-least-once); a batch
 * handler's batch is held, retried and committed as a whole.
 * A crash kafkajs does not restart from is restarted by the ConsumerSupervisor.
 */
export class ManagedConsumer<T = unknown> {
  private readonly logger: Logger;
  private readonly consumer: Consumer;
  private readonly stopping = new AbortController();
  private supervision?: Supervision;

  constructor(
    kafka: Kafka,
    private readonly producer: KafkaProducerService,
    private readonly topics: KafkaTopicsService,
    private readonly options: ConsumerOptions<T>,
    private readonly metrics: KafkaMetrics,
    private readonly supervisor: ConsumerSupervisor,
  ) {
    this.logger = new Logger(`Consumer:${options.groupId}`);
    this.consumer = kafka.consumer({
      groupId: topics.namespace + (options.perProcess ? groupOfThisProcess(options.groupId) : options.groupId),
      ...CONSUMER_GROUP_TIMINGS,
      allowAutoTopicCreation: false,
    });
  }

  /** Resolves once the group is joined and partitions are assigned. */
  async start(): Promise<void> {
    await this.topics.ensureTopics([...this.options.topics, Topic.DeadLetter]);
    let joins = 0;
    const joined = new Promise<void>((resolve) => {
      this.consumer.on(this.consumer.events.GROUP_JOIN, () => {
        if (joins++ === 0) return resolve();
        this.options.onGap?.();
      });
    });
    this.consumer.on(this.consumer.events.CRASH, () => this.options.onGap?.());
    this.consumer.on(this.consumer.events.END_BATCH_PROCESS, ({ payload }) =>
      this.metrics.consumerLag.set(
        { group: this.options.groupId, topic: payload.topic, partition: payload.partition },
        Number(payload.offsetLag),
      ),
    );
    await this.consumer.connect();
    await this.consumer.subscribe({
      topics: this.options.topics.map((t) => this.topics.name(t)),
      fromBeginning: this.options.fromBeginning ?? true,
    });
    const { options } = this;
    const run: ConsumerRunConfig = {
      partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 1,
      ...('handleBatch' in options
        ? { eachBatch: (payload) => this.onBatch(payload, options) }
        : { eachMessage: (payload) => this.onMessage(payload, options) }),
    };
    // kafkajs keeps the subscription across a crash: running again is all a restart needs.
    this.supervision = this.supervisor.supervise(this.consumer, {
      group: options.groupId,
      run: () => this.consumer.run(run),
    });
    await this.consumer.run(run);
    await joined;
  }

  async stop(): Promise<void> {
    // Lets a message waiting for its next retry go at once; kafkajs waits for it before leaving.
    this.stopping.abort();
    await this.supervision?.stop();
    await this.consumer.disconnect();
  }

  private async onMessage(
    { topic, partition, message, heartbeat }: EachMessagePayload,
    handler: MessageHandler,
  ): Promise<void> {
    const incoming = this.incoming(topic, partition, message, heartbeat);
    await this.untilDone(`${topic}[${partition}]@${message.offset}`, heartbeat, async () => {
      try {
        await handler.handle(incoming);
      } catch (error) {
        if (!(error instanceof InvalidMessageError)) throw error;
        await this.deadLetter(incoming, `invalid: ${error.message}`);
      }
    });
  }

  /** Parses the batch once, parks what is invalid, then handles the rest together; committed after both. */
  private async onBatch({ batch, heartbeat }: EachBatchPayload, handler: BatchHandler<T>): Promise<void> {
    const items: T[] = [];
    const invalid: [IncomingMessage, InvalidMessageError][] = [];
    for (const message of batch.messages) {
      const incoming = this.incoming(batch.topic, batch.partition, message, heartbeat);
      try {
        items.push(handler.parse(incoming));
      } catch (error) {
        if (!(error instanceof InvalidMessageError)) throw error;
        invalid.push([incoming, error]);
      }
    }
    const where = `${batch.topic}[${batch.partition}]@${batch.firstOffset()}-${batch.lastOffset()}`;
    await this.untilDone(where, heartbeat, async () => {
      while (invalid.length > 0) {
        const [incoming, error] = invalid[0];
        await this.deadLetter(incoming, `invalid: ${error.message}`);
        invalid.shift();
      }
      if (items.length > 0) await handler.handleBatch(items);
    });
  }

  private incoming(topic: string, partition: number, message: KafkaMessage, heartbeat: () => Promise<void>) {
    const contractTopic = this.options.topics.find((t) => this.topics.name(t) === topic) as Topic;
    return { topic: contractTopic, partition, message, heartbeat } satisfies IncomingMessage;
  }

  /**
   * Runs `work` until it succeeds, holding the partition: any failure is taken as transient and
   * retried with capped exponential backoff, heartbeating meanwhile; throws only when the consumer
   * stops or the group moved on, so nothing is committed.
   */
  private async untilDone(where: string, heartbeat: () => Promise<void>, work: () => Promise<void>): Promise<void> {
    const beat = new Heartbeats(heartbeat);
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          await work();
          if (attempt > 1) this.logger.log(`${where} handled after ${attempt} attempts; partition resumed`);
          return;
        } catch (error) {
          const delay = backoff(attempt, this.options.retryBaseMs ?? 200, this.options.retryMaxMs ?? 5_000);
          this.logger.warn(
            `${where} attempt ${attempt} failed (${reasonOf(error)}); partition held, retrying in ${delay} ms`,
          );
          await beat.wait(delay, this.stopping.signal);
        }
      }
    } finally {
      beat.stop();
    }
  }

  /** Parks a message no retry can fix; a failure to publish it (the broker down) fails the message, so it comes again. */
  private async deadLetter(incoming: IncomingMessage, reason: string): Promise<void> {
    const { topic, partition, message } = incoming;
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
    this.metrics.deadLetters.inc({ group: this.options.groupId, topic: this.topics.name(topic) });
    this.logger.error(`${this.topics.name(topic)}[${partition}]@${message.offset} dead-lettered: ${reason}`);
  }
}

const reasonOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * kafkajs heartbeats only between messages: while a message is handled or waits for its retry, we
 * beat every second so the group keeps this member and its partitions. A beat that says the group
 * moved on (a rebalance) is kept, and the next wait throws it so kafkajs rejoins.
 */
class Heartbeats {
  private lost?: unknown;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly heartbeat: () => Promise<void>) {
    this.timer = setInterval(() => void this.beat(), CONSUMER_GROUP_TIMINGS.heartbeatInterval);
  }

  /** Waits `ms`, beating; throws at once if the consumer stops or the group rebalanced. */
  async wait(ms: number, stopping: AbortSignal): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      stopping.addEventListener('abort', done, { once: true });
      function done() {
        clearTimeout(timer);
        stopping.removeEventListener('abort', done);
        resolve();
      }
    });
    if (stopping.aborted) throw new ConsumerStoppedError();
    await this.beat();
    if (this.lost) throw this.lost;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async beat(): Promise<void> {
    try {
      await this.heartbeat();
    } catch (error) {
      // Other failures (the broker unreachable) are left to the next beat.
      if (LOST_PARTITION.has((error as { type?: string }).type ?? '')) this.lost ??= error;
    }
  }
}

@Injectable()
export class KafkaConsumerFactory {
  constructor(
    @Inject(KAFKA_CLIENT) private readonly kafka: Kafka,
    private readonly producer: KafkaProducerService,
    private readonly topics: KafkaTopicsService,
    private readonly metrics: KafkaMetrics,
    private readonly supervisor: ConsumerSupervisor,
  ) {}

  create<T>(options: ConsumerOptions<T>): ManagedConsumer<T> {
    return new ManagedConsumer(this.kafka, this.producer, this.topics, options, this.metrics, this.supervisor);
  }
}
