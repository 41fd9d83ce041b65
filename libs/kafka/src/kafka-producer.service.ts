import { Inject, Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { Topic } from '@keyward/contracts';
import { CompressionTypes, IHeaders, Kafka, Partitioners, Producer } from 'kafkajs';
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
  private readonly producer: Producer;

  constructor(
    @Inject(KAFKA_CLIENT) kafka: Kafka,
    private readonly topics: KafkaTopicsService,
    private readonly metrics: KafkaMetrics,
  ) {
    this.producer = kafka.producer({
      allowAutoTopicCreation: false,
      idempotent: true,
      // Retries a send until it lands (Java's producer retries until its delivery timeout), over the
      // client's limit: a send given up half-way and repeated by the caller with other messages
      // could reuse sequence numbers and be dropped as a duplicate.
      retry: { retries: Number.MAX_SAFE_INTEGER },
      // One request in flight keeps a key's messages in order across retries.
      maxInFlightRequests: 1,
      // murmur2 on the message key, as the Java client partitions: the same key lands on the same partition.
      createPartitioner: Partitioners.DefaultPartitioner,
    });
  }

  async onModuleInit(): Promise<void> {
    await this.topics.ensureTopics();
    await this.producer.connect();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.producer.disconnect();
  }

  async send(topic: Topic, messages: OutgoingMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const name = this.topics.name(topic);
    await this.producer.send({ topic: name, acks: -1, compression: CompressionTypes.None, messages });
    this.metrics.published.inc({ topic: name }, messages.length);
  }
}
