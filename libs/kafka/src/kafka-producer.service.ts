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

/** The process's one producer: acks from all in-sync replicas, so an acknowledged send is durable. */
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
