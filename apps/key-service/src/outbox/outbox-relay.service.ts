import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { KEY_EVENT_SIGNATURE_HEADER, Topic } from '@keyward/contracts';
import { KafkaProducerService, OutgoingMessage } from '@keyward/kafka';
import { compareAndSet } from '@keyward/mongo';
import { Clock } from '@keyward/platform';
import { Model } from 'mongoose';
import { AsyncResource } from 'node:async_hooks';
import { KeyServiceSettings } from '../config/key-service.env';
import { KeyEventSigning } from './key-event-signing';
import { OutboxEntry, OutboxFields } from './outbox-entry.schema';

const LEASE_MS = 10_000;
const BATCH = 100;

/**
 * Publishes the events waiting in documents' outboxes, in order, then removes them.
 *
 * A relay leases a document by moving its `outboxAt` into the future, so concurrent key-service
 * instances rarely publish the same events; if a relay dies mid-way, the lease runs out and
 * another publishes them again. Either way consumers see every event at least once and dedupe
 * by eventId. Writers nudge the relay so an event usually leaves within milliseconds; the poll
 * is the safety net. Each collection has a loop of its own, so a sign-in code never waits behind
 * a backlog of key events (a reminder burst can leave thousands). Features register their
 * collections through OutboxModule.forFeature.
 */
@Injectable()
export class OutboxRelayService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(OutboxRelayService.name);
  private readonly models: Model<OutboxFields>[] = [];
  private readonly loops: RelayLoop[] = [];
  private readonly pollMs: number;
  private started = false;
  /** Per collection: work that must follow the publication of a batch's events (see afterPublishing). */
  private readonly followUps = new Map<string, PublishedFollowUp>();

  constructor(
    private readonly producer: KafkaProducerService,
    // The same clock that times the entries it relays (writers stamp outboxAt with it).
    private readonly clock: Clock,
    settings: KeyServiceSettings,
    private readonly signing: KeyEventSigning,
  ) {
    this.pollMs = settings.OUTBOX_POLL_MS;
  }

  /** Relays the events waiting in this collection's documents too (once per collection). */
  relayFrom(model: Model<OutboxFields>): void {
    const name = model.collection.collectionName;
    if (this.models.some((m) => m.collection.collectionName === name)) return;
    const loop = new RelayLoop((stopping) => this.drainModel(model, stopping), this.pollMs, this.logger, name);
    this.models.push(model);
    this.loops.push(loop);
    if (this.started) loop.start();
  }

  onApplicationBootstrap(): void {
    this.started = true;
    for (const loop of this.loops) loop.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all(this.loops.map((loop) => loop.stop()));
  }

  /** Asks every loop for a pass now (after a write); each coalesces with a pass it is running. */
  nudge(): void {
    for (const loop of this.loops) loop.nudge();
  }

  /**
   * Runs `followUp` on each batch of `collection`'s documents once their events are published and
   * before they are removed from the outboxes: if it fails (or the process dies), the lease runs out
   * and both happen again, so it must be idempotent. For what a committed change still owes after
   * its write, when the writer may have died in between.
   */
  afterPublishing(collection: string, followUp: PublishedFollowUp): void {
    this.followUps.set(collection, followUp);
  }

  /** One pass over every outbox; resolves when nothing due is left. Exposed for tests. */
  async drain(): Promise<number> {
    const counts = await Promise.all(this.loops.map((loop) => loop.drain(() => false)));
    return counts.reduce((a, b) => a + b, 0);
  }

  /** Events written but not yet published, and when the oldest of them happened (scanning at most `limit` documents). */
  async backlog(limit = 10_000): Promise<{ events: number; oldestAt?: Date }> {
    let events = 0;
    let oldest = Infinity;
    for (const model of this.models) {
      const waiting = await model
        .find({ outboxAt: { $ne: null } }, { outbox: 1 })
        .limit(limit)
        .lean();
      for (const { outbox } of waiting) {
        events += outbox.length;
        for (const entry of outbox) oldest = Math.min(oldest, occurredAt(entry));
      }
    }
    return { events, oldestAt: Number.isFinite(oldest) ? new Date(oldest) : undefined };
  }

  /** Batches until nothing is due, or until `stopping` (a shutdown need not wait for a backlog). */
  private async drainModel(model: Model<OutboxFields>, stopping: () => boolean): Promise<number> {
    let published = 0;
    // A batch that leased fewer than BATCH documents found nothing more due: no further query.
    for (let full = true; full && !stopping();) {
      const { count, leased } = await this.publishBatch(model, stopping);
      published += count;
      full = leased === BATCH;
    }
    return published;
  }

  /** Leases up to BATCH due documents, publishes their events, and clears what was published. */
  private async publishBatch(
    model: Model<OutboxFields>,
    stopping: () => boolean,
  ): Promise<{ count: number; leased: number }> {
    const leased: (OutboxFields & Record<string, unknown>)[] = [];
    while (leased.length < BATCH && !stopping()) {
      const now = this.clock.now();
      const doc = await model
        .findOneAndUpdate(
          { outboxAt: { $lte: now } },
          { $set: { outboxAt: new Date(now.getTime() + LEASE_MS) } },
          { new: true, sort: { outboxAt: 1 } },
        )
        .lean();
      if (!doc) break;
      leased.push(doc);
    }
    if (leased.length === 0) return { count: 0, leased: 0 };

    const byTopic = new Map<Topic, OutgoingMessage[]>();
    for (const doc of leased) {
      for (const entry of doc.outbox) {
        const list = byTopic.get(entry.topic) ?? [];
        list.push({
          key: entry.key,
          value: entry.value,
          headers: {
            eventId: entry.eventId,
            // Signed as it leaves, so entries written by any earlier version go out signed too.
            ...(entry.topic === Topic.KeyEvents
              ? { [KEY_EVENT_SIGNATURE_HEADER]: this.signing.sign(entry.value) }
              : {}),
          },
        });
        byTopic.set(entry.topic, list);
      }
    }
    for (const [topic, messages] of byTopic) await this.producer.send(topic, messages);
    await this.followUps.get(model.collection.collectionName)?.(leased);

    for (const doc of leased) await this.removePublished(model, doc._id, doc.outbox);
    const count = leased.reduce((n, d) => n + d.outbox.length, 0);
    this.logger.debug(`published ${count} events from ${leased.length} documents`);
    return { count, leased: leased.length };
  }

  /**
   * Removes the published entries by compare-and-set on the whole outbox array (see
   * compareAndSet). If a writer appended meanwhile, re-read and try again; after a few losses the
   * lease runs out and the events are published again, which consumers absorb by eventId.
   */
  private async removePublished(model: Model<OutboxFields>, id: unknown, seen: OutboxEntry[]): Promise<void> {
    const published = new Set(seen.map((e) => e.eventId));
    let current: OutboxEntry[] | undefined = seen;
    for (let attempt = 0; attempt < 5 && current; attempt++) {
      const remaining = current.filter((e) => !published.has(e.eventId));
      const removed = await compareAndSet(
        model.collection,
        { _id: id, outbox: current },
        { $set: { outbox: remaining, outboxAt: remaining.length > 0 ? this.clock.now() : null } },
      );
      if (removed) return;
      current = (await model.collection.findOne({ _id: id } as object))?.outbox as OutboxEntry[] | undefined;
    }
  }
}

/** Work on documents whose events were just published (OutboxRelayService.afterPublishing). */
export type PublishedFollowUp = (docs: (OutboxFields & Record<string, unknown>)[]) => Promise<void>;

/** Every event we write carries occurredAt (the key-event envelope, login codes). */
function occurredAt(entry: OutboxEntry): number {
  return Date.parse((JSON.parse(entry.value) as { occurredAt?: string }).occurredAt ?? '') || Infinity;
}

/** One collection's relay: passes on a nudge or every pollMs, never two at once. */
class RelayLoop {
  private timer?: NodeJS.Timeout;
  private running?: Promise<number>;
  private again = false;
  private stopped = false;

  constructor(
    readonly drain: (stopping: () => boolean) => Promise<number>,
    private readonly pollMs: number,
    private readonly logger: Logger,
    private readonly name: string,
  ) {}

  start(): void {
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  nudge(): void {
    if (this.running) this.again = true;
    else this.schedule(0);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(this.tick, delayMs);
  }

  /** Bound at construction so passes do not inherit the context (and log fields) of the request that nudged. */
  private readonly tick = AsyncResource.bind(() => void this.run());

  private async run(): Promise<void> {
    if (this.running || this.stopped) return;
    this.running = this.drain(() => this.stopped).catch((error: unknown) => {
      this.logger.error(`${this.name} outbox pass failed: ${(error as Error).message}`);
      return 0;
    });
    await this.running;
    this.running = undefined;
    const again = this.again;
    this.again = false;
    this.schedule(again ? 0 : this.pollMs);
  }
}
