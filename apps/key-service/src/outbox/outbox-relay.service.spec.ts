import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { Logger } from '@nestjs/common';
import { Topic } from '@keyward/contracts';
import { KafkaProducerService, OutgoingMessage } from '@keyward/kafka';
import { Clock } from '@keyward/platform';
import { isolatedEnv, until, untilFound } from '@keyward/testing';
import mongoose, { Connection, Model, Schema } from 'mongoose';
import { Registry } from 'prom-client';
import { randomUUID } from 'node:crypto';
import { KeyServiceSettings } from '../config/key-service.env';
import { KeyEventSigning } from './key-event-signing';
import { OutboxEntry, OutboxEntrySchema, OutboxFields } from './outbox-entry.schema';
import { OutboxRelayService } from './outbox-relay.service';
import { OutboxRelayMetrics } from './outbox-relay.metrics';
import { CollectionOutbox, OutboxChange, OutboxStore } from './outbox-store';

Logger.overrideLogger(false);

const HOUR_MS = 3_600_000;
/** Far longer than a pass takes even on a loaded machine, far shorter than the hour-long scan period. */
const NAMED_WITHIN_MS = 15_000;
/** The relay's lease (LEASE_MS). */
const LEASE_MS = 10_000;

/** Integration: the relay's two ways of finding events, against the real stand-in (Kafka is not the point: a recording producer). */
describe('OutboxRelayService (integration, real FerretDB)', () => {
  let connection: Connection;
  let documents: Model<OutboxFields & { _id: string }>;
  /** The relay's store over this test's collection, as an owning repository implements it; records each change. */
  let store: OutboxStore;
  const changes: OutboxChange[][] = [];
  const published: { topic: Topic; eventId: string; value: string }[] = [];
  const relays: OutboxRelayService[] = [];
  const registry = new Registry();
  const metrics = new OutboxRelayMetrics(registry);
  const leasesLost = async () =>
    (await registry.getSingleMetric('keyward_outbox_leases_lost_total')?.get())?.values[0]?.value;
  /** While set, a send waits for it (the broker is slow to acknowledge). */
  let acknowledged: Promise<void> | undefined;
  let acknowledge = () => {};
  /** From now on sends wait, until releaseSends. */
  function holdSends(): void {
    acknowledged = new Promise((resolve) => (acknowledge = resolve));
  }
  function releaseSends(): void {
    acknowledged = undefined;
    acknowledge();
  }
  /** While set, a send fails (the broker is down), and when each refused send was made. */
  let refusing = false;
  const refusedAt: number[] = [];
  /** From now on sends fail, counted in refusedAt from now. */
  function refuseSends(): void {
    refusing = true;
    refusedAt.length = 0;
  }
  const producer = {
    send: async (topic: Topic, messages: OutgoingMessage[]) => {
      await acknowledged;
      if (refusing) {
        refusedAt.push(Date.now());
        throw new Error('broker down');
      }
      for (const m of messages) published.push({ topic, eventId: String(m.headers?.eventId), value: String(m.value) });
    },
  } as unknown as KafkaProducerService;

  before(async () => {
    connection = await mongoose.createConnection(isolatedEnv().mongoUri('outbox-relay')).asPromise();
    const schema = new Schema(
      { _id: String, outbox: { type: [OutboxEntrySchema], default: [] }, outboxAt: { type: Date, default: null } },
      { collection: 'relayed', versionKey: false },
    );
    documents = connection.model('Relayed', schema) as unknown as typeof documents;
    const collection = new CollectionOutbox(documents);
    store = {
      leaseOutbox: (dueBy, until, _id) => collection.leaseOutbox(dueBy, until, _id),
      changeOutboxes: (made) => {
        changes.push(made);
        return collection.changeOutboxes(made);
      },
      outboxOf: (_id) => collection.outboxOf(_id),
      waitingOutboxes: (limit) => collection.waitingOutboxes(limit),
    };
  });

  afterEach(async () => {
    refusing = false;
    // A test that failed while sends were held would otherwise hold up the relays' shutdown.
    releaseSends();
    await Promise.all(relays.splice(0).map((relay) => relay.onApplicationShutdown()));
  });

  after(async () => {
    await connection?.close();
  });

  /**
   * A started relay of this collection, scanning every `scanEveryMs`, once its first pass (always a
   * scan) has published a document left waiting before it: documents written after that meet only
   * later passes.
   */
  async function relay(scanEveryMs: number): Promise<OutboxRelayService> {
    const sentinel = await longWaiting();
    const settings = { OUTBOX_POLL_MS: scanEveryMs } as KeyServiceSettings;
    // Login codes are not signed: no signing key needed.
    const started = new OutboxRelayService(producer, new Clock(), settings, {} as KeyEventSigning, metrics);
    started.relayFrom('relayed', store);
    started.onApplicationBootstrap();
    relays.push(started);
    await until(
      'the first scan published what waited at start',
      async () => isPublished(sentinel.outbox[0].eventId),
      15_000,
    );
    return started;
  }

  /** A document with `events` waiting, as a writer leaves it (written, not yet relayed). */
  async function written(events = 1, outboxAt = new Date()): Promise<{ id: string; outbox: OutboxEntry[] }> {
    const id = randomUUID();
    const outbox = Array.from({ length: events }, (_, i) => ({
      eventId: randomUUID(),
      topic: Topic.LoginCodes,
      key: id,
      value: JSON.stringify({ n: i }),
    }));
    await documents.create({ _id: id, outbox, outboxAt });
    return { id, outbox };
  }

  const isPublished = (eventId: string) => published.some((p) => p.eventId === eventId);
  const waitingIn = async (id: string) => (await documents.findById(id).lean())?.outbox.length;
  const leasedUntil = async (id: string) => (await documents.findById(id).lean())?.outboxAt?.getTime() ?? 0;
  /** Waits until the relay has leased the document; when its lease ends. */
  const leased = (id: string) =>
    untilFound(
      'the relay leased it',
      async () => {
        const leaseEnd = await leasedUntil(id);
        return leaseEnd > Date.now() ? leaseEnd : undefined;
      },
      15_000,
    );

  /** A new document with one event, nudged to `relayed` with sends held: it, once leased, and when its lease ends. */
  async function heldInSend(
    relayed: OutboxRelayService,
  ): Promise<{ doc: Awaited<ReturnType<typeof written>>; leaseEnd: number }> {
    holdSends();
    const doc = await written(1);
    relayed.nudge('relayed', doc.id);
    return { doc, leaseEnd: await leased(doc.id) };
  }

  /** A document whose events have waited longer than any scan period here (the scan takes only those). */
  const longWaiting = () => written(1, new Date(Date.now() - 2 * HOUR_MS));

  it('publishes the documents a writer names at once, in order, without the scan', async () => {
    const relayed = await relay(HOUR_MS);

    // Left long ago and never named (a writer that died): any scan would take it.
    const unnamed = await longWaiting();
    const named = await written(2);
    relayed.nudge('relayed', named.id);

    await until('the named document is relayed', async () => (await waitingIn(named.id)) === 0, NAMED_WITHIN_MS);
    assert.deepEqual(
      published.filter((p) => named.outbox.some((e) => e.eventId === p.eventId)).map((p) => p.value),
      named.outbox.map((e) => e.value),
      'its events once each, in the order written',
    );
    assert.equal((await documents.findById(named.id).lean())?.outboxAt, null, 'nothing left waiting');
    assert.equal(isPublished(unnamed.outbox[0].eventId), false, 'the unnamed one waits for the scan: no scan ran');
    assert.equal(await waitingIn(unnamed.id), 1);
  });

  it('leaves a named document another instance has leased to that instance', async () => {
    const relayed = await relay(HOUR_MS);

    // Another relay's live lease: outboxAt moved into the future.
    const leasedElsewhere = await written(1, new Date(Date.now() + 60_000));
    const free = await written();
    // One nudge, so one pass: it tries the leased document first, then the free one.
    relayed.nudge('relayed', leasedElsewhere.id, free.id);

    await until('the free document is relayed', async () => isPublished(free.outbox[0].eventId), NAMED_WITHIN_MS);
    assert.equal(isPublished(leasedElsewhere.outbox[0].eventId), false, 'the leased one is not published twice');
    assert.equal(await waitingIn(leasedElsewhere.id), 1);
  });

  it('publishes an event appended while the earlier ones were out after them, and keeps it until then', async () => {
    const relayed = await relay(HOUR_MS);

    const { doc } = await heldInSend(relayed);
    // A writer's change lands while its first event is on its way to the broker.
    const appended = { eventId: randomUUID(), topic: Topic.LoginCodes, key: doc.id, value: JSON.stringify({ n: 1 }) };
    await documents.updateOne({ _id: doc.id }, { $push: { outbox: appended }, $max: { outboxAt: new Date() } });
    relayed.nudge('relayed', doc.id);
    releaseSends();

    await until('both are relayed', async () => (await waitingIn(doc.id)) === 0, NAMED_WITHIN_MS);
    assert.deepEqual(
      published
        .filter((p) => p.eventId === doc.outbox[0].eventId || p.eventId === appended.eventId)
        .map((p) => p.eventId),
      [doc.outbox[0].eventId, appended.eventId],
      'the first, then the appended one, each once',
    );
  });

  it('publishes, by its scan, what a writer that died after its write never named, once it has waited a period', async () => {
    const scanEveryMs = 1_000;
    await relay(scanEveryMs);

    const writtenAt = Date.now();
    const orphan = await written(2);
    await until('the scan relays the orphaned document', async () => (await waitingIn(orphan.id)) === 0, 15_000);
    // Younger events are their writer's relay's: the scan does not race it for them.
    assert.ok(Date.now() - writtenAt >= scanEveryMs, 'not before it had waited a scan period');
    assert.deepEqual(
      published.filter((p) => orphan.outbox.some((e) => e.eventId === p.eventId)).map((p) => p.value),
      orphan.outbox.map((e) => e.value),
      'its events once each, in the order written',
    );
  });

  it('after a bulk removal that missed a document changed meanwhile, rewrites only that one', async () => {
    const relayed = await relay(HOUR_MS);

    holdSends();
    const [appendedTo, untouched] = [await written(1), await written(1)];
    changes.length = 0;
    relayed.nudge('relayed', appendedTo.id, untouched.id);
    await Promise.all([leased(appendedTo.id), leased(untouched.id)]);
    // One of the two changes while their events are out: the bulk removal empties only the other.
    const appended = { eventId: randomUUID(), topic: Topic.LoginCodes, key: appendedTo.id, value: '{}' };
    await documents.updateOne({ _id: appendedTo.id }, { $push: { outbox: appended }, $max: { outboxAt: new Date() } });
    relayed.nudge('relayed', appendedTo.id);
    releaseSends();

    await until('both are relayed', async () => (await waitingIn(appendedTo.id)) === 0, NAMED_WITHIN_MS);
    const named = (made: OutboxChange[]) => made.map((change) => change._id);
    const bulk = changes.findIndex((made) => named(made).includes(untouched.id));
    assert.deepEqual(named(changes[bulk]), [appendedTo.id, untouched.id], 'one bulk removal for both');
    assert.deepEqual(
      changes.slice(bulk + 1).map(named),
      changes.slice(bulk + 1).map(() => [appendedTo.id]),
      'every later write is to the document the bulk removal missed',
    );
    assert.equal(await waitingIn(untouched.id), 0);
  });

  it('gives its leases back when the broker refuses, retries with growing pauses, and publishes soon after it accepts', async () => {
    const relayed = await relay(HOUR_MS);

    refuseSends();
    const doc = await written(1);
    relayed.nudge('relayed', doc.id);
    // Before the lease of the first attempt could have run out, and without a scan (an hour away).
    await until('three attempts were refused', async () => refusedAt.length >= 3, 15_000);
    assert.ok(
      refusedAt[2] - refusedAt[0] >= 250 + 500,
      `no tight loop: pauses of at least 250 then 500 ms (${refusedAt[1] - refusedAt[0]}, ${refusedAt[2] - refusedAt[1]} ms)`,
    );
    const acceptedAt = Date.now();
    refusing = false;

    await until('the event is published', async () => isPublished(doc.outbox[0].eventId), 15_000);
    const waitedMs = Date.now() - acceptedAt;
    assert.ok(waitedMs < 10_000, `out ${waitedMs} ms after the broker accepted: sooner than a lease runs out`);
    assert.equal(published.filter((p) => p.eventId === doc.outbox[0].eventId).length, 1, 'published once');
    await until('the outbox is cleared', async () => (await waitingIn(doc.id)) === 0, NAMED_WITHIN_MS);
  });

  it('gives back only a lease that is still its own', async () => {
    const relayed = await relay(HOUR_MS);

    const { doc } = await heldInSend(relayed);
    refuseSends();
    // Its send outlives the lease, and another relay leases the document meanwhile.
    const otherLease = new Date(Date.now() + 60_000);
    await documents.updateOne({ _id: doc.id }, { $set: { outboxAt: otherLease } });
    releaseSends();

    await until('the send was refused', async () => refusedAt.length >= 1, 15_000);
    refusing = false;
    // Once the failed pass has ended (its give-back included), what is due is published.
    await relayed.drain();
    assert.equal(await leasedUntil(doc.id), otherLease.getTime(), 'the other relay keeps its lease');
    assert.equal(await waitingIn(doc.id), 1, 'nor was anything published');
  });

  it('renews its lease while a send outlives it, so no other relay leases the document meanwhile', async () => {
    const relayed = await relay(HOUR_MS);

    const { doc, leaseEnd: firstLeaseEnd } = await heldInSend(relayed);
    // The broker takes longer to acknowledge than a lease lasts (a leader election, say).
    await until(
      'the first lease would have run out',
      async () => {
        const leaseEnd = await leasedUntil(doc.id);
        const now = Date.now();
        // Read after the lease end: a lease that had lapsed would read as ended.
        assert.ok(leaseEnd > now, `the lease ran out while the send was under way (${now - leaseEnd} ms ago)`);
        return now > firstLeaseEnd;
      },
      LEASE_MS + 10_000,
    );
    // What another relay's lease of it does (a scan or a nudge of another instance): it finds none.
    const taken = await store.leaseOutbox(new Date(), new Date(Date.now() + LEASE_MS), doc.id);
    assert.equal(taken, null, 'another relay could lease the document whose events are still out');
    releaseSends();

    await until('the outbox is cleared', async () => (await waitingIn(doc.id)) === 0, NAMED_WITHIN_MS);
    assert.equal(published.filter((p) => p.eventId === doc.outbox[0].eventId).length, 1, 'published once');
  });

  it('gives back its renewed lease when the send then fails', async () => {
    const relayed = await relay(HOUR_MS);

    const { doc, leaseEnd: firstLeaseEnd } = await heldInSend(relayed);
    refuseSends();
    await until('the relay renewed its lease', async () => (await leasedUntil(doc.id)) > firstLeaseEnd, 15_000);
    releaseSends();

    await until('the send was refused', async () => refusedAt.length >= 1, 15_000);
    const acceptedAt = Date.now();
    refusing = false;
    // The loop tries again what it gave back after its pause; a lease not given back would wait for the scan (an hour).
    await until('the event is published', async () => isPublished(doc.outbox[0].eventId), 15_000);
    const waitedMs = Date.now() - acceptedAt;
    assert.ok(waitedMs < LEASE_MS, `out ${waitedMs} ms after the broker accepted: sooner than a lease runs out`);
    await until('the outbox is cleared', async () => (await waitingIn(doc.id)) === 0, NAMED_WITHIN_MS);
  });

  it('leaves a document whose lease another relay took during the send to that relay', async () => {
    const relayed = await relay(HOUR_MS);

    const lostBefore = await leasesLost();
    const { doc } = await heldInSend(relayed);
    // The lease lapsed (the database out of reach of the renewals) and another relay leased the
    // document; its send of the same events is under way.
    const otherLease = new Date(Date.now() + 60_000);
    await documents.updateOne({ _id: doc.id }, { $set: { outboxAt: otherLease } });
    releaseSends();

    await until('the send went out', async () => isPublished(doc.outbox[0].eventId), 15_000);
    // Once that pass has ended (its removal included).
    await relayed.drain();
    assert.equal(await leasesLost(), (lostBefore ?? 0) + 1, 'counted, as its events go out twice');
    assert.equal(await leasedUntil(doc.id), otherLease.getTime(), 'the other relay keeps its lease');
    assert.equal(await waitingIn(doc.id), 1, 'and the events it is publishing, to clear once published');
  });
});
