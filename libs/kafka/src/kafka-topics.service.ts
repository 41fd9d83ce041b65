import { Inject, Injectable, Logger } from '@nestjs/common';
import { Topic, TOPIC_SPECS } from '@keyward/contracts';
import { Admin, Kafka } from 'kafkajs';
import { KafkaSettings } from './kafka.config';
import { KAFKA_CLIENT } from './kafka.tokens';

/** Creates keyward's topics with their chosen partitions and retention; a no-op for those that exist. */
@Injectable()
export class KafkaTopicsService {
  private readonly logger = new Logger(KafkaTopicsService.name);
  /** Partitions of each topic as the cluster reported them (an operator may have added some). */
  private readonly partitions = new Map<Topic, number>();

  constructor(
    @Inject(KAFKA_CLIENT) private readonly kafka: Kafka,
    private readonly settings: KafkaSettings,
  ) {}

  /** Prefix of this deployment's topics and consumer groups (empty in production). */
  get namespace(): string {
    return this.settings.KAFKA_TOPIC_NAMESPACE;
  }

  /** The broker-side name of a contract topic. */
  name(topic: Topic): string {
    return this.namespace + topic;
  }

  private replication(): { factor: number; minInsync: number } {
    const factor = this.settings.KAFKA_REPLICATION_FACTOR;
    const minInsync = this.settings.KAFKA_MIN_INSYNC_REPLICAS ?? Math.min(2, factor);
    if (minInsync > factor) {
      // Kafka accepts such a topic, then refuses every acks=all write to it.
      throw new Error(`KAFKA_MIN_INSYNC_REPLICAS (${minInsync}) exceeds KAFKA_REPLICATION_FACTOR (${factor})`);
    }
    return { factor, minInsync };
  }

  /** Partitions of a topic: as the cluster reported them at start-up, else as we create it. */
  partitionCount(topic: Topic): number {
    return this.partitions.get(topic) ?? TOPIC_SPECS[topic].partitions;
  }

  async ensureTopics(topics: Topic[] = Object.values(Topic)): Promise<void> {
    const { factor, minInsync } = this.replication();
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const missing = await this.missing(admin, topics);
      if (missing.length === 0) {
        // Another service may have created them a moment ago, before their leaders were elected.
        await this.waitForLeaders(admin, topics);
        return;
      }
      await admin
        .createTopics({
          // Ours below: kafkajs's own wait fails on a cluster when a broker has not heard of a new topic yet.
          waitForLeaders: false,
          topics: missing.map((topic) => ({
            topic: this.name(topic),
            numPartitions: TOPIC_SPECS[topic].partitions,
            replicationFactor: factor,
            configEntries: [
              { name: 'retention.ms', value: String(TOPIC_SPECS[topic].retentionMs) },
              { name: 'min.insync.replicas', value: String(minInsync) },
            ],
          })),
        })
        // Another service may create the same topics at the same moment: fine if they now exist.
        .catch(async (error: unknown) => {
          if ((await this.missing(admin, topics)).length > 0) throw error;
        });
      await this.waitForLeaders(admin, topics);
      this.logger.log(`created topics ${missing.map((t) => this.name(t)).join(', ')}`);
    } finally {
      await admin.disconnect();
    }
  }

  /**
   * Until every partition has a leader, a subscribe or produce fails with "This server does not
   * host this topic-partition": wait for them, also when another service created the topics.
   */
  private async waitForLeaders(admin: Admin, topics: Topic[], timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const metadata = await admin.fetchTopicMetadata({ topics: topics.map((t) => this.name(t)) }).catch(() => null);
      const ready = metadata?.topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0));
      if (metadata && ready) {
        const counts = new Map(metadata.topics.map((t) => [t.name, t.partitions.length]));
        for (const topic of topics)
          this.partitions.set(topic, counts.get(this.name(topic)) ?? TOPIC_SPECS[topic].partitions);
        return;
      }
      if (Date.now() > deadline) throw new Error(`topics ${topics.join(', ')} have no leaders after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  private async missing(admin: Admin, topics: Topic[]): Promise<Topic[]> {
    const existing = new Set(await admin.listTopics());
    return topics.filter((t) => !existing.has(this.name(t)));
  }
}
