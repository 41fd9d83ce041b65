import {
  DEV_KEY_EVENTS_SIGNING_KEY,
  KEY_EVENT_SIGNATURE_HEADER,
  parseSigningKey,
  signKeyEvent,
  Topic,
} from '@keyward/contracts';
import { stack } from '@keyward/testing';
import { Consumer, IHeaders, Kafka, logLevel, Partitioners, Producer } from 'kafkajs';

const DEV_SIGNER = parseSigningKey(DEV_KEY_EVENTS_SIGNING_KEY);

export interface DeadLetter {
  value: Buffer;
  headers: Record<string, string>;
}

/**
 * The test's side of Kafka for notification-service: produces raw bytes onto a namespace's topics,
 * as key-service would (or as a broken producer might), and collects the dead-letter topic.
 */
export class NotificationKafka {
  readonly deadLetters: DeadLetter[] = [];
  private readonly kafka = new Kafka({
    clientId: 'keyward-notify-tests',
    brokers: stack.kafkaBrokers.split(','),
    logLevel: logLevel.NOTHING,
  });
  private producer?: Producer;
  private consumer?: Consumer;

  constructor(private readonly namespace: string) {}

  /** Call once the service has created its topics. */
  async start(): Promise<void> {
    this.producer = this.kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await this.producer.connect();
    const consumer = this.kafka.consumer({ groupId: `${this.namespace}dead-letter-tap`, heartbeatInterval: 1_000 });
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topic: this.namespace + Topic.DeadLetter, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        this.deadLetters.push({ value: message.value ?? Buffer.alloc(0), headers: textHeaders(message.headers) });
      },
    });
  }

  /** Key events go out signed with the development key, as key-service signs them (poison too: its bytes are what is wrong). */
  async produce(topic: Topic, key: string, ...values: (string | Buffer | object)[]): Promise<void> {
    await this.producer!.send({
      topic: this.namespace + topic,
      acks: -1,
      messages: values.map((v) => {
        const value = typeof v === 'string' || Buffer.isBuffer(v) ? v : JSON.stringify(v);
        const signature = topic === Topic.KeyEvents ? signKeyEvent(value, DEV_SIGNER) : undefined;
        return { key, value, headers: signature ? { [KEY_EVENT_SIGNATURE_HEADER]: signature } : {} };
      }),
    });
  }

  /** One message with headers (say, a dead letter as an earlier version wrote it); resolves with its offset. */
  async produceMessage(topic: Topic, message: { key: string; value: string; headers: IHeaders }): Promise<string> {
    const [{ baseOffset }] = await this.producer!.send({
      topic: this.namespace + topic,
      acks: -1,
      messages: [message],
    });
    return String(baseOffset);
  }

  /**
   * Resolves once consumer group `groupId` has committed offsets up to the end of `topic` as it is
   * now: every message produced before the call has been handled.
   */
  async caughtUp(groupId: string, topic: Topic, timeoutMs = 30_000): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const name = this.namespace + topic;
      const ends = await admin.fetchTopicOffsets(name);
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const [committed] = await admin.fetchOffsets({ groupId: this.namespace + groupId, topics: [name] });
        const behind = ends.filter(({ partition, high }) => {
          const at = committed.partitions.find((p) => p.partition === partition)?.offset ?? '-1';
          return Number(high) > 0 && Number(at) < Number(high);
        });
        if (behind.length === 0) return;
        if (Date.now() > deadline) throw new Error(`${groupId} did not catch up on ${name} within ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      await admin.disconnect();
    }
  }

  async stop(): Promise<void> {
    await Promise.all([this.producer?.disconnect(), this.consumer?.disconnect()]);
  }
}

function textHeaders(headers: IHeaders | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(headers ?? {}).map(([k, v]) => [k, String(v)]));
}
