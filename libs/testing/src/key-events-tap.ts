import { AnyKeyEvent, parseKeyEvent, Topic } from '@keyward/contracts';
import { Consumer, Kafka, logLevel } from 'kafkajs';
import { randomBytes } from 'node:crypto';
import { sleep } from './mailpit';
import { stack } from './stack';

export interface TappedEvent {
  event: AnyKeyEvent;
  /** The message value exactly as on the topic. */
  raw: string;
  /** The message key (the partition key). */
  key: string;
  eventIdHeader?: string;
  partition: number;
  offset: number;
}

const kafka = () =>
  new Kafka({ clientId: 'keyward-tests', brokers: stack.kafkaBrokers.split(','), logLevel: logLevel.NOTHING });

/**
 * Reads a test namespace's key-events topic from the beginning, as any consumer would, and keeps
 * every event (in arrival order) for assertions. Start it once the services have created the topic.
 */
export class KeyEventsTap {
  readonly received: TappedEvent[] = [];
  private readonly topic: string;
  private readonly kafka = kafka();
  private consumer?: Consumer;

  constructor(namespace: string) {
    this.topic = namespace + Topic.KeyEvents;
  }

  async start(): Promise<void> {
    const consumer = this.kafka.consumer({
      groupId: `${this.topic}.tap-${randomBytes(4).toString('hex')}`,
      sessionTimeout: 10_000,
      heartbeatInterval: 1_000,
      allowAutoTopicCreation: false,
    });
    this.consumer = consumer;
    const joined = new Promise<void>((resolve) => {
      const off = consumer.on(consumer.events.GROUP_JOIN, () => {
        off();
        resolve();
      });
    });
    await consumer.connect();
    await consumer.subscribe({ topic: this.topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const raw = message.value?.toString() ?? '';
        this.received.push({
          event: parseKeyEvent(raw),
          raw,
          key: message.key?.toString() ?? '',
          eventIdHeader: message.headers?.eventId?.toString(),
          partition,
          offset: Number(message.offset),
        });
      },
    });
    await joined;
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
  }

  /**
   * Events of one key, in the order the topic holds them, each once: delivery is at-least-once, so
   * a repeat of an eventId is dropped here as a consumer would drop it.
   */
  ofKey(keyId: string): AnyKeyEvent[] {
    const seen = new Set<string>();
    return this.received
      .filter((t) => t.event.keyId === keyId && !seen.has(t.event.eventId) && seen.add(t.event.eventId))
      .map((t) => t.event);
  }

  /** Waits until `count` received events match, then returns all that match. */
  async waitFor(match: (event: AnyKeyEvent) => boolean, count = 1, timeoutMs = 20_000): Promise<AnyKeyEvent[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.received.map((t) => t.event).filter(match);
      if (found.length >= count) return found;
      if (Date.now() > deadline) {
        throw new Error(`expected ${count} matching key event(s) within ${timeoutMs} ms, got ${found.length}`);
      }
      await sleep(50);
    }
  }

  /**
   * Resolves once the tap has read everything on the topic now: after it, an event that was
   * published before the call is in `received`, so "no such event" can be asserted.
   */
  async caughtUp(timeoutMs = 20_000): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    const ends = await admin.fetchTopicOffsets(this.topic).finally(() => admin.disconnect());
    const deadline = Date.now() + timeoutMs;
    for (const { partition, high } of ends) {
      const last = Number(high) - 1;
      while (last >= 0 && !this.received.some((t) => t.partition === partition && t.offset >= last)) {
        if (Date.now() > deadline) throw new Error(`tap did not reach offset ${last} of partition ${partition}`);
        await sleep(50);
      }
    }
  }
}

/** Every message on every topic of a namespace, values and keys as text (for leak searches). */
export async function readNamespaceTopics(namespace: string): Promise<{ topic: string; text: string }[]> {
  const client = kafka();
  const admin = client.admin();
  await admin.connect();
  const topics = (await admin.listTopics()).filter((t) => t.startsWith(namespace));
  const ends = new Map<string, number>();
  for (const topic of topics) {
    for (const { partition, high } of await admin.fetchTopicOffsets(topic)) {
      if (Number(high) > 0) ends.set(`${topic}:${partition}`, Number(high) - 1);
    }
  }
  await admin.disconnect();
  const messages: { topic: string; text: string }[] = [];
  if (ends.size === 0) return messages;

  const consumer = client.consumer({ groupId: `${namespace}leak-search-${randomBytes(4).toString('hex')}` });
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: true });
  const done = new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        const headers = Object.entries(message.headers ?? {})
          .map(([k, v]) => `${k}=${v?.toString()}`)
          .join(' ');
        messages.push({ topic, text: `${message.key?.toString()} ${message.value?.toString()} ${headers}` });
        const id = `${topic}:${partition}`;
        if (Number(message.offset) >= (ends.get(id) ?? Infinity)) ends.delete(id);
        if (ends.size === 0) resolve();
      },
    });
  });
  await done;
  await consumer.disconnect();
  return messages;
}
