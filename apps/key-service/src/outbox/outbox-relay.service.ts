import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { KEY_EVENT_SIGNATURE_HEADER, Topic } from '@keyward/contracts';
import { KafkaProducerService, OutgoingMessage } from '@keyward/kafka';
import { writeInBatches } from '@keyward/mongo';
import { Clock } from '@keyward/platform';
import { AsyncResource } from 'node:async_hooks';
import { KeyServiceSettings } from '../config/key-service.env';
import { KeyEventSigning } from './key-event-signing';
import { OutboxEntry } from './outbox-entry.schema';
import { OutboxRelayMetrics } from './outbox-relay.metrics';
import { LeasedDocument, OutboxStore } from './outbox-store';

const LEASE_MS = 10_000;
/**
 * While a pass runs, the leases it holds are renewed this often, each for LEASE_MS from then: a
 * send lasts as long as the producer retries (until it lands, libs/kafka), so the lease follows it,
 * and a renewal has two thirds of a lease to reach the database before the lease could run out.
 */
const RENEW_EVERY_MS = LEASE_MS / 3;
const BATCH = 100;
/**
 * After a failed pass, the loop's first pause before its next, doubled after each further failure
 * up to RETRY_MAX_MS: a broker that refuses is asked again within a second at first, then every few
 * seconds, never in a tight loop; and an event goes out within RETRY_MAX_MS of the broker's return.
 */
const RETRY_FIRST_MS = 250;
const RETRY_MAX_MS = 4_000;

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
 * write and the relay, entries written by an earlier version, a lease that ran out). A relay that
 * cannot publish what it leased (Kafka refused, the database failed) gives the leases back at once
 * and its loop tries those documents again after a pause that grows while failures last. Each
 * collection has a loop of its own, so a sign-in code never waits behind a backlog of key events
 * (a reminder burst can leave thousands). Each collection is reached only through the OutboxStore its
 * owning repository holds (`outbox`), registered with `relayOutboxOf`. A pass renews its leases for
 * as long as it runs (PassLeases), so a slow send does not let another relay publish the same events;
 * and every write it makes after the lease applies only while the lease is still its own.
 */
@Injectable()
export class OutboxRelayService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(OutboxRelayService.name);
  /** Per collection: the store of the repository that owns it, and its loop. */
  private readonly stores = new Map<string, OutboxStore>();
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
    private readonly metrics: OutboxRelayMetrics,
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

  /**
   * Once the passes under way have ended, one scan of every outbox, however recent the events;
   * resolves when nothing due is left. Exposed for tests.
   */
  async drain(): Promise<number> {
    await Promise.all([...this.loops.values()].map((loop) => loop.idle()));
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
      const leases = new PassLeases(store, this.clock, this.logger);
      published += await this.publish(collection, leases, () => this.leaseBatch(store, waitedMs, stopping, leases));
      full = leases.documents.length === BATCH;
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
      const leases = new PassLeases(store, this.clock, this.logger);
      published += await this.publish(collection, leases, async () => {
        const { dueBy, until } = this.leaseTimes(0);
        const taken = await Promise.all(ids.slice(i, i + BATCH).map((_id) => store.leaseOutbox(dueBy, until, _id)));
        for (const doc of taken) if (doc) leases.add(doc);
      });
    }
    return published;
  }

  /** Leases up to BATCH documents whose events have waited `waitedMs` into `leases`, oldest first, one after another. */
  private async leaseBatch(
    store: OutboxStore,
    waitedMs: number,
    stopping: () => boolean,
    leases: PassLeases,
  ): Promise<void> {
    while (leases.documents.length < BATCH && !stopping()) {
      const { dueBy, until } = this.leaseTimes(waitedMs);
      const doc = await store.leaseOutbox(dueBy, until);
      if (!doc) break;
      leases.add(doc);
    }
  }

  /** A lease taken now: on events that have waited `waitedMs`, for LEASE_MS. */
  private leaseTimes(waitedMs: number): { dueBy: Date; until: Date } {
    const now = this.clock.now().getTime();
    return { dueBy: new Date(now - waitedMs), until: new Date(now + LEASE_MS) };
  }

  /**
   * Leases documents into `leases` (with `lease`), publishes their events and clears what was
   * published; how many events. The leases are renewed from the first until the events are sent and
   * the follow-up has run. When any step fails, gives back the leases still held and throws
   * PublishFailed naming the documents.
   */
  private async publish(collection: string, leases: PassLeases, lease: () => Promise<void>): Promise<number> {
    const leased = leases.documents;
    try {
      await leases.renewedWhile(async () => {
        await lease();
        if (leased.length > 0) await this.sendLeased(collection, leased);
      });
      await this.removeAllPublished(leases);
    } catch (error) {
      await this.giveBack(leases).catch((cause: unknown) =>
        this.logger.warn(`could not give back ${leased.length} outbox leases: ${(cause as Error).message}`),
      );
      throw new PublishFailed(
        leased.map((doc) => doc._id),
        error,
      );
    }
    if (leases.lost > 0) {
      this.metrics.leasesLost.inc(leases.lost);
      this.logger.warn(
        `${leases.lost} of ${leased.length} documents lost their lease while their events were out (another relay took them, or may): left to that relay, which publishes those events again`,
      );
    }
    const count = leased.reduce((n, d) => n + d.outbox.length, 0);
    if (count > 0) this.logger.debug(`published ${count} events from ${leased.length} documents`);
    return count;
  }

  /** Sends the events in order, then runs the collection's follow-up. */
  private async sendLeased(collection: string, leased: LeasedDocument[]): Promise<void> {
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
  }

  /**
   * Ends this relay's leases on documents it could not publish, so they are due again now rather
   * than when the lease runs out: its loop tries them again after a pause, and any relay may take
   * them meanwhile (one wins, as ever). Only leases still held (`outboxAt` as this pass last set it):
   * a lease taken by another relay, or an outbox emptied, stays as is.
   */
  private async giveBack(leases: PassLeases): Promise<void> {
    const now = this.clock.now();
    await writeInBatches(leases.stillHeld(), (batch) =>
      leases.store.changeOutboxes(
        batch.map(({ doc, outboxAt }) => ({ _id: doc._id, expected: { outboxAt }, set: { outboxAt: now } })),
      ),
    );
  }

  /**
   * Empties the outboxes of the published documents whose lease is still held, in as few commands as
   * writeInBatches allows, each only while it still holds exactly what was published and that lease
   * (compare-and-set on the whole array and on `outboxAt`). A document another relay leased meanwhile
   * is its to publish and clear: this pass writes nothing there. When a command matched fewer
   * documents than it named, some were changed meanwhile, and the command does not say which: each of
   * its documents goes through removePublished, which reads it again and clears only those still
   * under this lease and holding published events (the ones it did not empty: writers only append
   * new events), keeping what was appended.
   */
  private async removeAllPublished(leases: PassLeases): Promise<void> {
    await writeInBatches(leases.stillHeld(), async (batch) => {
      const emptied = await leases.store.changeOutboxes(
        batch.map(({ doc, outboxAt }) => ({
          _id: doc._id,
          expected: { outbox: doc.outbox, outboxAt },
          set: { outbox: [], outboxAt: null },
        })),
      );
      if (emptied === batch.length) return;
      await Promise.all(batch.map(({ doc, outboxAt }) => this.removePublished(leases, doc, outboxAt)));
    });
  }

  /**
   * Removes the events of `doc` it published from its outbox as read again, by compare-and-set on the
   * whole array (see compareAndSet) and on its `lease`, keeping what was appended. Leaves alone an
   * outbox that holds none of them (emptied already), and one under another lease, which is then
   * lost. If a writer appended meanwhile, reads and tries again; after a few losses the lease runs out
   * and the events are published again, which consumers absorb by eventId.
   */
  private async removePublished(leases: PassLeases, doc: LeasedDocument, lease: Date): Promise<void> {
    const published = new Set(doc.outbox.map((e) => e.eventId));
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await leases.store.outboxOf(doc._id);
      if (!current?.outbox.some((e) => published.has(e.eventId))) return;
      if (current.outboxAt?.getTime() !== lease.getTime()) return leases.lose(doc);
      const remaining = current.outbox.filter((e) => !published.has(e.eventId));
      const set = { outbox: remaining, outboxAt: remaining.length > 0 ? this.clock.now() : null };
      const expected = { outbox: current.outbox, outboxAt: lease };
      if ((await leases.store.changeOutboxes([{ _id: doc._id, expected, set }])) === 1) return;
    }
  }
}

/**
 * The leases one pass holds, in the order taken, renewed while it leases and sends (renewedWhile) so
 * that no other relay takes a document whose events are still on their way, however long the send
 * retries. A lease is this pass's while `outboxAt` is what the pass last set: a renewal, like every
 * later write of the pass, is a compare-and-set on it, and a document whose renewal found another
 * value (the lease ran out, the database out of reach for two thirds of it, and another relay took
 * it), or that the removal finds so, is no longer held: the pass neither renews, gives back nor
 * clears it.
 */
class PassLeases {
  /** Every document leased, in order (what the pass sends). */
  readonly documents: LeasedDocument[] = [];
  /** The documents still held, each with the `outboxAt` this pass last set on it. */
  private readonly held = new Map<LeasedDocument, Date>();

  constructor(
    readonly store: OutboxStore,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  /** A document just leased (its `outboxAt` is the lease). */
  add(doc: LeasedDocument): void {
    this.documents.push(doc);
    this.held.set(doc, doc.outboxAt as Date);
  }

  /** The documents still held, each with its lease as this pass last set it. */
  stillHeld(): { doc: LeasedDocument; outboxAt: Date }[] {
    return [...this.held].map(([doc, outboxAt]) => ({ doc, outboxAt }));
  }

  /** A document found under another lease than this pass's: no longer held. */
  lose(doc: LeasedDocument): void {
    this.held.delete(doc);
  }

  /** How many documents this pass leased and then lost to another relay. */
  get lost(): number {
    return this.documents.length - this.held.size;
  }

  /**
   * Runs `work`, renewing the leases held every RENEW_EVERY_MS meanwhile (one renewal at a time);
   * resolves or rejects as `work` does, once no renewal is under way.
   */
  async renewedWhile(work: () => Promise<void>): Promise<void> {
    let renewing: Promise<void> | undefined;
    const timer = setInterval(() => (renewing ??= this.renew().finally(() => (renewing = undefined))), RENEW_EVERY_MS);
    try {
      await work();
    } finally {
      clearInterval(timer);
      await renewing;
    }
  }

  /**
   * Moves each lease held to LEASE_MS from now where it is still this pass's. A renewal that fails
   * (the database out of reach) keeps the lease as it was: the next one tries again, and its
   * compare-and-set tells whether the lease is still held.
   */
  private async renew(): Promise<void> {
    const until = new Date(this.clock.now().getTime() + LEASE_MS);
    await Promise.all(
      [...this.held].map(async ([doc, outboxAt]) => {
        try {
          const renewed = await this.store.changeOutboxes([
            { _id: doc._id, expected: { outboxAt }, set: { outboxAt: until } },
          ]);
          if (renewed === 1) this.held.set(doc, until);
          else this.held.delete(doc);
        } catch (error) {
          this.logger.warn(`could not renew an outbox lease: ${(error as Error).message}`);
        }
      }),
    );
  }
}

/** A pass could not publish (or clear) these leased documents' events; their leases were given back. */
class PublishFailed extends Error {
  constructor(
    readonly ids: unknown[],
    cause: unknown,
  ) {
    super(`could not publish the events of ${ids.length} documents: ${(cause as Error).message}`, { cause });
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
 * during a pass, or while a scan is due, wait for the next named pass). After a failed pass no pass
 * starts before a pause (RETRY_FIRST_MS, doubled while failures last, at most RETRY_MAX_MS), and the
 * next named pass takes again what the failed one named or gave back.
 */
class RelayLoop {
  private timer?: NodeJS.Timeout;
  private running?: Promise<number>;
  private stopped = false;
  /** Documents named since the last named pass began, by their `_id`'s text (an ObjectId or its hex). */
  private named = new Map<string, unknown>();
  private lastScanAt = -Infinity;
  /** Failed passes in a row, and until when the next pass waits after the last of them. */
  private failures = 0;
  private pausedUntil = 0;

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

  /** Resolves once the pass under way, if any, has ended. */
  async idle(): Promise<void> {
    await this.running;
  }

  nudge(ids: unknown[]): void {
    if (ids.length === 0) return;
    for (const id of ids) this.named.set(String(id), id);
    if (!this.running) this.schedule(0);
  }

  /** The next pass in `delayMs`, or when the pause after failed passes ends if that is later. */
  private schedule(delayMs: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(this.tick, Math.max(delayMs, this.pausedUntil - Date.now()));
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
    this.running = (scan ? this.passes.scan(stopping) : this.passes.named(ids, stopping)).then(
      (published) => {
        this.failures = 0;
        return published;
      },
      (error: unknown) => {
        // The next pass, after a pause, takes again the documents this one named and those it gave back.
        for (const id of [...ids, ...(error instanceof PublishFailed ? error.ids : [])]) this.named.set(String(id), id);
        const pauseMs = Math.min(RETRY_FIRST_MS * 2 ** this.failures++, RETRY_MAX_MS);
        this.pausedUntil = Date.now() + pauseMs;
        this.logger.error(`${this.name} outbox pass failed, next in ${pauseMs} ms: ${(error as Error).message}`);
        return 0;
      },
    );
    await this.running;
    this.running = undefined;
    if (scan) this.lastScanAt = Date.now();
    this.schedule(this.named.size > 0 ? 0 : Math.max(0, this.lastScanAt + this.scanEveryMs - Date.now()));
  }
}
