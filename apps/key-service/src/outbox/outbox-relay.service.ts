import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { KEY_EVENT_SIGNATURE_HEADER, Topic } from '@keyward/contracts';
import { KafkaProducerService, OutgoingMessage } from '@keyward/kafka';
import { writeInBatches } from '@keyward/mongo';
import { Clock } from '@keyward/platform';
import { AsyncResource } from 'node:async_hooks';
import { KeyServiceSettings } from '../config/key-service.env';
import { KeyEventSigning } from './key-event-signing';
import { OutboxEntry } from './outbox-entry.schema';
import { LeasedDocument, OutboxStore } from './outbox-store';

const LEASE_MS = 10_000;
const BATCH = 100;

/**
 * Publishes the events waiting in documents' outboxes, in order, then removes them.
 *
 * A relay leases a document by moving its `outboxAt` into the future, so concurrent key-service
 * instances rarely publish the same events; if a relay dies mid-way, the lease runs out and
 * another publishes them again. Either way consumers see every event at least once and dedupe
 * by eventId. A writer nudges the relay with the documents it just wrote, which the next pass
 * leases, publishes and clears by `_id` alone, so an event usually leaves within milliseconds at the
 * cost of `_id` lookups (the local stand-in reads the whole collection for any other filter:
 * docs/stack.md). A scan every OUTBOX_POLL_MS is the safety net: it publishes the events that have
 * waited that long, which no live writer's relay is publishing (a process that died between its
 * write and the relay, entries written by an earlier version, a lease that ran out). Each
 * collection has a loop of its own, so a sign-in code never waits behind a backlog of key events
 * (a reminder burst can leave thousands). Each collection is reached only through the OutboxStore its
 * owning repository implements, registered with `relayOutboxOf`.
 */
@Injectable()
export class OutboxRelayService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(OutboxRelayService.name);
  /** Per collection. */
  private readonly stores = new Map<string, OutboxStore>();
  /** Per collection. */
  private readonly loops = new Map<string, RelayLoop>();
  private readonly scanEveryMs: number;
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
    this.scanEveryMs = settings.OUTBOX_POLL_MS;
  }

  /** Relays the events waiting in this collection's documents too, through its owner's store (once per collection). */
  relayFrom(collection: string, store: OutboxStore): void {
    if (this.loops.has(collection)) return;
    const loop = new RelayLoop(
      {
        scan: (stopping) => this.drainDue(collection, store, this.scanEveryMs, stopping),
        named: (ids, stopping) => this.drainNamed(collection, store, ids, stopping),
      },
      this.scanEveryMs,
      this.logger,
      collection,
    );
    this.stores.set(collection, store);
    this.loops.set(collection, loop);
    if (this.started) loop.start();
  }

  onApplicationBootstrap(): void {
    this.started = true;
    for (const loop of this.loops.values()) loop.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([...this.loops.values()].map((loop) => loop.stop()));
  }

  /**
   * After a write that appended events to these documents of `collection` (by `_id`): asks its loop
   * for a pass now, which leases them by `_id`. Passes coalesce; a document another instance has
   * leased is left to it (and to the scan, should that instance die).
   */
  nudge(collection: string, ...ids: unknown[]): void {
    this.loops.get(collection)?.nudge(ids);
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

  /** One scan of every outbox, however recent the events; resolves when nothing due is left. Exposed for tests. */
  async drain(): Promise<number> {
    const counts = await Promise.all(
      [...this.stores].map(([collection, store]) => this.drainDue(collection, store, 0, () => false)),
    );
    return counts.reduce((a, b) => a + b, 0);
  }

  /** Events written but not yet published, and when the oldest of them happened (scanning at most `limit` documents). */
  async backlog(limit = 10_000): Promise<{ events: number; oldestAt?: Date }> {
    let events = 0;
    let oldest = Infinity;
    for (const store of this.stores.values()) {
      for (const outbox of await store.waitingOutboxes(limit)) {
        events += outbox.length;
        for (const entry of outbox) oldest = Math.min(oldest, occurredAt(entry));
      }
    }
    return { events, oldestAt: Number.isFinite(oldest) ? new Date(oldest) : undefined };
  }

  /**
   * The safety net: batches of documents whose events have waited `waitedMs` or more, until none
   * is left, or until `stopping` (a shutdown need not wait for a backlog). Younger ones are their
   * writer's relay's to publish (it was handed them): the scan neither races it for them nor
   * reads the collection once per document while a burst of writes is being relayed.
   */
  private async drainDue(
    collection: string,
    store: OutboxStore,
    waitedMs: number,
    stopping: () => boolean,
  ): Promise<number> {
    let published = 0;
    // A batch that leased fewer than BATCH documents found nothing more due: no further query.
    for (let full = true; full && !stopping();) {
      const leased = await this.leaseBatch(store, waitedMs, stopping);
      published += await this.publish(collection, store, leased);
      full = leased.length === BATCH;
    }
    return published;
  }

  /**
   * The documents writers named, in batches: each leased by its `_id` if it still has events due, all
   * of a batch at once (each lease is a write of its own; a pass waits for one round trip, not one
   * per document, behind the requests that share the database).
   */
  private async drainNamed(
    collection: string,
    store: OutboxStore,
    ids: unknown[],
    stopping: () => boolean,
  ): Promise<number> {
    let published = 0;
    for (let i = 0; i < ids.length && !stopping(); i += BATCH) {
      const { dueBy, until } = this.leaseTimes(0);
      const leases = await Promise.all(ids.slice(i, i + BATCH).map((_id) => store.leaseOutbox(dueBy, until, _id)));
      published += await this.publish(
        collection,
        store,
        leases.filter((doc) => doc !== null),
      );
    }
    return published;
  }

  /** Leases up to BATCH documents whose events have waited `waitedMs`, oldest first, one after another. */
  private async leaseBatch(store: OutboxStore, waitedMs: number, stopping: () => boolean): Promise<LeasedDocument[]> {
    const leased: LeasedDocument[] = [];
    while (leased.length < BATCH && !stopping()) {
      const { dueBy, until } = this.leaseTimes(waitedMs);
      const doc = await store.leaseOutbox(dueBy, until);
      if (!doc) break;
      leased.push(doc);
    }
    return leased;
  }

  /** A lease taken now: on events that have waited `waitedMs`, for LEASE_MS. */
  private leaseTimes(waitedMs: number): { dueBy: Date; until: Date } {
    const now = this.clock.now().getTime();
    return { dueBy: new Date(now - waitedMs), until: new Date(now + LEASE_MS) };
  }

  /** Publishes the leased documents' events and clears what was published; how many events. */
  private async publish(collection: string, store: OutboxStore, leased: LeasedDocument[]): Promise<number> {
    if (leased.length === 0) return 0;

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
    await this.followUps.get(collection)?.(leased);

    await this.removeAllPublished(store, leased);
    const count = leased.reduce((n, d) => n + d.outbox.length, 0);
    this.logger.debug(`published ${count} events from ${leased.length} documents`);
    return count;
  }

  /**
   * Empties the outboxes of the published documents in as few commands as writeInBatches allows,
   * each only while it still holds exactly what was published (compare-and-set on the whole array).
   * If any was appended to meanwhile, every document goes through removePublished, which keeps what
   * was appended (and finds the others already empty).
   */
  private async removeAllPublished(store: OutboxStore, leased: LeasedDocument[]): Promise<void> {
    let emptied = 0;
    await writeInBatches(leased, async (batch) => {
      emptied += await store.changeOutboxes(
        batch.map((doc) => ({ _id: doc._id, expected: { outbox: doc.outbox }, set: { outbox: [], outboxAt: null } })),
      );
    });
    if (emptied === leased.length) return;
    for (const doc of leased) await this.removePublished(store, doc._id, doc.outbox);
  }

  /**
   * Removes the published entries by compare-and-set on the whole outbox array (see
   * compareAndSet). If a writer appended meanwhile, re-read and try again; after a few losses the
   * lease runs out and the events are published again, which consumers absorb by eventId.
   */
  private async removePublished(store: OutboxStore, _id: unknown, seen: OutboxEntry[]): Promise<void> {
    const published = new Set(seen.map((e) => e.eventId));
    let current: OutboxEntry[] | undefined = seen;
    for (let attempt = 0; attempt < 5 && current; attempt++) {
      const remaining = current.filter((e) => !published.has(e.eventId));
      const set = { outbox: remaining, outboxAt: remaining.length > 0 ? this.clock.now() : null };
      if ((await store.changeOutboxes([{ _id, expected: { outbox: current }, set }])) === 1) return;
      current = await store.outboxOf(_id);
    }
  }
}

/** Work on documents whose events were just published (OutboxRelayService.afterPublishing). */
export type PublishedFollowUp = (docs: LeasedDocument[]) => Promise<void>;

/** Every event we write carries occurredAt (the key-event envelope, login codes). */
function occurredAt(entry: OutboxEntry): number {
  return Date.parse((JSON.parse(entry.value) as { occurredAt?: string }).occurredAt ?? '') || Infinity;
}

/** A loop's two kinds of pass; each resolves to the number of events published. */
interface RelayPasses {
  /** Every due document (the safety net). */
  scan: (stopping: () => boolean) => Promise<number>;
  /** The documents writers named since the last named pass began. */
  named: (ids: unknown[], stopping: () => boolean) => Promise<number>;
}

/**
 * One collection's relay, never two passes at once: a scan at start and every scanEveryMs, and
 * between scans a pass of the documents named by nudges as soon as there are any (names that arrive
 * during a pass, or while a scan is due, wait for the next named pass).
 */
class RelayLoop {
  private timer?: NodeJS.Timeout;
  private running?: Promise<number>;
  private stopped = false;
  /** Documents named since the last named pass began, by their `_id`'s text (an ObjectId or its hex). */
  private named = new Map<string, unknown>();
  private lastScanAt = -Infinity;

  constructor(
    private readonly passes: RelayPasses,
    private readonly scanEveryMs: number,
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

  nudge(ids: unknown[]): void {
    if (ids.length === 0) return;
    for (const id of ids) this.named.set(String(id), id);
    if (!this.running) this.schedule(0);
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
    const stopping = () => this.stopped;
    // Due by the time since the last scan ended, whether nudges came or not: a steady stream of
    // them never holds the scan off, and a slow scan (a large collection on the stand-in) still
    // leaves room for named passes between scans.
    const scan = Date.now() - this.lastScanAt >= this.scanEveryMs;
    const ids = scan ? [] : [...this.named.values()];
    if (!scan) this.named = new Map();
    this.running = (scan ? this.passes.scan(stopping) : this.passes.named(ids, stopping)).catch((error: unknown) => {
      this.logger.error(`${this.name} outbox pass failed: ${(error as Error).message}`);
      return 0;
    });
    await this.running;
    this.running = undefined;
    if (scan) this.lastScanAt = Date.now();
    this.schedule(this.named.size > 0 ? 0 : Math.max(0, this.lastScanAt + this.scanEveryMs - Date.now()));
  }
}
