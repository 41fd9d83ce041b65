import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { Topic } from '@keyward/contracts';
import { CompressionTypes, IHeaders, Kafka, PartitionMetadata, Partitioners, Producer } from 'kafkajs';
import { KafkaMetrics } from './kafka.metrics';
import { KAFKA_CLIENT } from './kafka.tokens';
import { KafkaTopicsService } from './kafka-topics.service';

export interface OutgoingMessage {
  /** Partition key: the keyId for key events, so a key's events stay in order. */
  key: string;
  value: string | Buffer;
  headers?: IHeaders;
}

/**
 * Producer options for Nest's request/reply transport (key verification): acks=all, kafkajs's
 * default, but not idempotent. A request is worthless after its timeout, so it gets a few retries,
 * not retries until it lands; a repeated request only brings a reply nobody waits for.
 */
export const REQUEST_REPLY_PRODUCER = {
  allowAutoTopicCreation: false,
  // murmur2 on the message key, as the Java client partitions.
  createPartitioner: Partitioners.DefaultPartitioner,
};

/**
 * The process's one producer: acks from all in-sync replicas (at least min.insync.replicas), so an
 * acknowledged send survives the loss of a broker; idempotent, so a retry after a lost answer (a
 * leader that died after writing) does not write the message twice.
 */
@Injectable()
export class KafkaProducerService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(KafkaProducerService.name);
  private producer: Producer;
  // murmur2 on the message key, as the Java client partitions: the same key lands on the same partition.
  private readonly partitioner = Partitioners.DefaultPartitioner();

  constructor(
    @Inject(KAFKA_CLIENT) private readonly kafka: Kafka,
    private readonly topics: KafkaTopicsService,
    private readonly metrics: KafkaMetrics,
  ) {
    this.producer = this.createProducer();
  }

  private createProducer(): Producer {
    return this.kafka.producer({
      allowAutoTopicCreation: false,
      idempotent: true,
      // Retries a send until it lands (Java's producer retries until its delivery timeout), over the
      // client's limit: a send given up half-way and repeated by the caller with other messages
      // could reuse sequence numbers and be dropped as a duplicate. At least every 5 s, so a send
      // resumes within seconds of a new leader taking over from a lost broker.
      retry: { retries: Number.MAX_SAFE_INTEGER, maxRetryTime: 5_000 },
      // One request in flight keeps a key's messages in order across retries.
      maxInFlightRequests: 1,
      createPartitioner: () => this.partitioner,
    });
  }

  async onModuleInit(): Promise<void> {
    await this.topics.ensureTopics();
    await this.producer.connect();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.producer.disconnect();
  }

  /**
   * Sends each partition's messages in a send of its own. kafkajs retries a send that spans several
   * partition leaders only to the leaders that have not answered yet: when one of them is lost and
   * its partitions move to a leader that already answered, their messages are never sent, and the
   * send still succeeds (tulios/kafkajs#1798). With one partition per send, a retry goes to the new
   * leader with the same sequence numbers.
   */
  async send(topic: Topic, messages: OutgoingMessage[]): Promise<void> {
    const byPartition = new Map<number, OutgoingMessage[]>();
    const name = this.topics.name(topic);
    // The partitioner needs only how many partitions there are, to hash a key onto one of them.
    const partitionMetadata: PartitionMetadata[] = Array.from(
      { length: this.topics.partitionCount(topic) },
      (_, id) => ({
        partitionId: id,
        partitionErrorCode: 0,
        leader: 0,
        replicas: [],
        isr: [],
      }),
    );
    for (const message of messages) {
      const partition = this.partitioner({ topic: name, partitionMetadata, message });
      byPartition.set(partition, [...(byPartition.get(partition) ?? []), message]);
    }
    try {
      await Promise.all(
        [...byPartition].map(async ([partition, batch]) => {
          await this.producer.send({
            topic: name,
            acks: -1,
            compression: CompressionTypes.None,
            messages: batch.map((m) => ({ ...m, partition })),
          });
          this.metrics.published.inc({ topic: name }, batch.length);
        }),
      );
    } catch (error) {
      if (producerStateLost(error)) await this.renewProducer(error as Error);
      throw error;
    }
  }

  /**
   * A broker that no longer accepts this producer's sequence numbers refuses every later send to
   * that partition; a new producer (a new producer id, sequences from zero) is accepted. The caller
   * sends again, so what the old one may have written could arrive twice: consumers deduplicate.
   */
  private async renewProducer(cause: Error): Promise<void> {
    this.logger.warn(`renewing the Kafka producer: ${cause.message}`);
    const old = this.producer;
    this.producer = this.createProducer();
    await old.disconnect().catch(() => undefined);
    await this.producer.connect();
  }
}

const PRODUCER_STATE_ERRORS = new Set([
  'OUT_OF_ORDER_SEQUENCE_NUMBER',
  'UNKNOWN_PRODUCER_ID',
  'INVALID_PRODUCER_EPOCH',
]);

function producerStateLost(error: unknown): boolean {
  const e = error as { type?: string; cause?: { type?: string } } | undefined;
  return PRODUCER_STATE_ERRORS.has(e?.type ?? '') || PRODUCER_STATE_ERRORS.has(e?.cause?.type ?? '');
}
