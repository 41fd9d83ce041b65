import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { DeadLetterHeader, KeyEvent, Topic } from '@keyward/contracts';
import { isolatedEnv, Mailpit, ServiceProcess, sleep } from '@keyward/testing';
import mongoose from 'mongoose';
import { sampleMessages } from '../apps/notification-service/src/emails/sample-messages';
import { formatLedger, LedgerRow, settleDeliveries } from './support/delivery-ledger';
import { FerretDbServer } from './support/ferretdb-server';
import { MailpitServer } from './support/mailpit-server';
import { NotificationKafka } from './support/notification-kafka';
import { runTool } from './support/operator-tools';

/** A message no version of the contract accepts. */
const POISON = '{"not": "an event"';

/** Longer than the consumer group's 10 s session timeout: a member that stopped heartbeating would be dropped. */
const STALL_MS = 12_000;

/**
 * The delivery guarantees under the outages real providers have, shortened for CI: notification-
 * service against a Mailpit and a FerretDB of this test's own (the shared ones stay up), with tiny
 * backoffs and a 15 s give-up window so hours of outage take seconds. Every scenario ends with each
 * expected email in Mailpit exactly once.
 */
describe('delivery through long outages', () => {
  const { env, emailDomain } = isolatedEnv();
  const namespace = env.KAFKA_TOPIC_NAMESPACE;
  const kafka = new NotificationKafka(namespace);
  let smtp: MailpitServer;
  let mailpit: Mailpit;
  let database: FerretDbServer;
  let service: ServiceProcess;
  let db: mongoose.Connection;
  let toolEnv: Record<string, string>;
  /** One row per scenario, printed at the end (the figures in docs/RELIABILITY.md). */
  const ledger: LedgerRow[] = [];

  before(async () => {
    [smtp, database] = await Promise.all([MailpitServer.start(), FerretDbServer.start()]);
    mailpit = new Mailpit(smtp.url);
    toolEnv = { ...env, MONGO_URI: database.uri('notifications'), SMTP_PORT: String(smtp.smtpPort) };
    service = await ServiceProcess.start('notification-service', {
      ...toolEnv,
      DELIVERY_RETRY_BASE_MS: '20',
      DELIVERY_RETRY_MAX_MS: '100',
      DELIVERY_RETRY_POLL_MS: '50',
      DELIVERY_GIVE_UP_AFTER: '15s',
    });
    await kafka.start();
    db = await mongoose.createConnection(database.uri('notifications')).asPromise();
  });

  after(async () => {
    if (ledger.length) console.log(formatLedger(ledger));
    await Promise.all([kafka.stop(), service?.stop(), db?.close()]);
    await Promise.all([smtp?.stop(), database?.stop()]);
  });

  /** `count` key-created events, each for a key of its own (spread over partitions), to ops@ and oncall@ of `domain`. */
  function keyEvents(domain: string, count: number) {
    const events = Array.from({ length: count }, (_, i) => {
      const event = sampleMessages({ domain: `${i}.${domain}` })['key-created'] as KeyEvent<'KeyCreated'>;
      return { ...event, keyId: `k-${domain}-${i}` };
    });
    return { events, recipients: events.flatMap((e) => e.payload.contacts) };
  }

  const produceAll = async (events: KeyEvent<'KeyCreated'>[]) => {
    for (const event of events) await kafka.produce(Topic.KeyEvents, event.keyId, event);
  };

  async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(100);
    }
  }

  const deliveriesOf = (eventIds: string[]) =>
    db
      .collection('deliveries')
      .find({ eventId: { $in: eventIds } })
      .toArray();
  const serviceLog = () => readFileSync(service.logFile, 'utf8');
  const keyEventLetters = () =>
    kafka.deadLetters.filter((l) => l.headers[DeadLetterHeader.SourceTopic] === namespace + Topic.KeyEvents);

  it('SMTP refusing for longer than the old 20-attempt give-up, then back: every email exactly once', async () => {
    const domain = `smtp-long.${emailDomain}`;
    const { events, recipients } = keyEvents(domain, 4);
    const since = Date.now();
    await smtp.stop();
    await produceAll(events);
    await until('every delivery to have failed more than 20 attempts', async () => {
      const all = await deliveriesOf(events.map((e) => e.eventId));
      return all.length === recipients.length && all.every((d) => d.attempts > 20) ? all : undefined;
    });
    await smtp.resume();

    const result = await settleDeliveries({
      mailpit,
      db,
      eventIds: events.map((e) => e.eventId),
      expected: recipients,
      domain,
      since,
    });
    assert.deepEqual({ lost: result.lost, duplicated: result.duplicated }, { lost: 0, duplicated: 0 });
    ledger.push({ scenario: 'SMTP refusing past the old 20-attempt give-up', keys: events.length, ...result });
    for (const d of await deliveriesOf(events.map((e) => e.eventId))) assert.equal(d.status, 'sent');
  });

  it('fails a delivery past its give-up window with the reason; deliveries:redrive sends it once, and a second run changes nothing', async () => {
    const domain = `give-up.${emailDomain}`;
    const { events, recipients } = keyEvents(domain, 2);
    const eventIds = events.map((e) => e.eventId);
    await smtp.stop();
    await produceAll(events);
    const failed = await until('every delivery to be given up', async () => {
      const all = await deliveriesOf(eventIds);
      return all.length === recipients.length && all.every((d) => d.status === 'failed') ? all : undefined;
    });
    for (const d of failed) assert.match(String(d.error), /^gave up after 1\ds and \d+ attempts: .*ECONNREFUSED/);
    await smtp.resume();

    const listed = await runTool('deliveries:redrive', ['--all-failed', '--dry-run'], toolEnv);
    assert.match(listed, /4 failed deliveries match; nothing changed/);
    const since = Date.now();
    assert.match(await runTool('deliveries:redrive', ['--event', eventIds[0]], toolEnv), /re-drove 2 of 2 matching/);
    assert.match(await runTool('deliveries:redrive', ['--all-failed'], toolEnv), /re-drove 2 of 2 matching/);
    const result = await settleDeliveries({ mailpit, db, eventIds, expected: recipients, domain, since });
    assert.deepEqual({ lost: result.lost, duplicated: result.duplicated }, { lost: 0, duplicated: 0 });
    ledger.push({
      scenario: 'SMTP down past the give-up window, then deliveries:redrive',
      keys: events.length,
      ...result,
    });

    assert.match(await runTool('deliveries:redrive', ['--all-failed'], toolEnv), /re-drove 0 of 0 matching/);
    for (const d of await deliveriesOf(eventIds)) {
      assert.equal(d.status, 'sent');
      assert.ok(d.redrivenAt instanceof Date);
    }
    assert.equal((await mailpit.search(`to:"${domain}"`)).length, recipients.length);
  });

  it('carries on with deliveries recorded by the previous version: a pending one is sent, a failed one re-driven', async () => {
    const domain = `old-shape.${emailDomain}`;
    const { events, recipients } = keyEvents(domain, 2);
    const [pending, failed] = events;
    const now = Date.now();
    // Documents exactly as the previous version wrote them: attempts counted when finished, no lease,
    // no smtpResponse or redrivenAt; the failed one gave up after its 20 attempts two days ago.
    const oldShape = (event: KeyEvent<'KeyCreated'>, recipient: string, fields: object) => ({
      _id: `${event.eventId}/${recipient}`,
      eventId: event.eventId,
      recipient,
      eventType: event.type,
      keyId: event.keyId,
      message: JSON.stringify(event),
      smtpMessageId: null,
      ...fields,
    });
    await db.collection('deliveries').insertMany([
      ...pending.payload.contacts.map((r) =>
        oldShape(pending, r, {
          status: 'pending',
          attempts: 3,
          nextAttemptAt: new Date(now),
          error: 'connect ECONNREFUSED 127.0.0.1:1025',
          createdAt: new Date(now - 60_000),
          updatedAt: new Date(now),
        }),
      ),
      ...failed.payload.contacts.map((r) =>
        oldShape(failed, r, {
          status: 'failed',
          attempts: 20,
          nextAttemptAt: new Date(now - 2 * 86_400_000),
          error: 'gave up after 20 attempts: connect ECONNREFUSED 127.0.0.1:1025',
          createdAt: new Date(now - 2 * 86_400_000),
          updatedAt: new Date(now - 2 * 86_400_000),
        }),
      ),
    ] as unknown as mongoose.mongo.OptionalId<mongoose.mongo.Document>[]);
    await db.collection('delivery_attempts').insertMany(
      pending.payload.contacts.flatMap((recipient) =>
        [1, 2, 3].map((attempt) => ({
          _id: `${pending.eventId}/${recipient}/${attempt}`,
          eventId: pending.eventId,
          recipient,
          attempt,
          startedAt: new Date(now - 60_000),
          leaseUntil: new Date(now - 1_000),
        })),
      ) as unknown as mongoose.mongo.OptionalId<mongoose.mongo.Document>[],
    );

    assert.match(await runTool('deliveries:redrive', ['--event', failed.eventId], toolEnv), /re-drove 2 of 2/);
    const result = await settleDeliveries({
      mailpit,
      db,
      eventIds: events.map((e) => e.eventId),
      expected: recipients,
      domain,
      since: now,
    });
    assert.deepEqual({ lost: result.lost, duplicated: result.duplicated }, { lost: 0, duplicated: 0 });
    ledger.push({
      scenario: 'records of the previous version (pending; failed, re-driven)',
      keys: events.length,
      ...result,
    });
    for (const d of await deliveriesOf([pending.eventId])) assert.equal(d.attempts, 4, 'continued from attempt 3');
  });

  it('database unreachable for longer than the old retry budget: no dead letter, every email once it is back', async () => {
    const domain = `db-down.${emailDomain}`;
    const { events, recipients } = keyEvents(domain, 3);
    const since = Date.now();
    const lettersBefore = keyEventLetters().length;
    await database.stop();
    await produceAll(events);
    // The previous version dead-lettered a message after its 5th failed attempt (about 3 s of backoff).
    await until('a key event held past its 6th failed attempt', async () => {
      const attempts = [...serviceLog().matchAll(/key-events\.1\[\d+\]@\d+ attempt (\d+) failed/g)].map((m) =>
        Number(m[1]),
      );
      return Math.max(0, ...attempts) >= 6 ? true : undefined;
    });
    await database.resume();

    const result = await settleDeliveries({
      mailpit,
      db,
      eventIds: events.map((e) => e.eventId),
      expected: recipients,
      domain,
      since,
    });
    assert.deepEqual({ lost: result.lost, duplicated: result.duplicated }, { lost: 0, duplicated: 0 });
    ledger.push({ scenario: 'database unreachable past the old retry budget', keys: events.length, ...result });
    await kafka.caughtUp('notification-service', Topic.KeyEvents);
    assert.equal(keyEventLetters().length, lettersBefore, 'nothing dead-lettered');
  });

  it('database frozen for longer than a session timeout: the consumer stays in its group, every email once', async () => {
    const domain = `db-stall.${emailDomain}`;
    const { events, recipients } = keyEvents(domain, 3);
    const since = Date.now();
    const lettersBefore = keyEventLetters().length;
    const logFrom = serviceLog().length;
    database.freeze();
    try {
      await produceAll(events);
      await sleep(STALL_MS); // the fault itself: how long the database answers nothing
    } finally {
      database.thaw();
    }
    const result = await settleDeliveries({
      mailpit,
      db,
      eventIds: events.map((e) => e.eventId),
      expected: recipients,
      domain,
      since,
    });
    assert.deepEqual({ lost: result.lost, duplicated: result.duplicated }, { lost: 0, duplicated: 0 });
    ledger.push({ scenario: 'database frozen for 12 s', keys: events.length, ...result });
    await kafka.caughtUp('notification-service', Topic.KeyEvents);
    assert.equal(keyEventLetters().length, lettersBefore, 'nothing dead-lettered');
    assert.doesNotMatch(serviceLog().slice(logFrom), /rebalancing|not aware of this member/i, 'no rebalance');
  });

  it('dead-letters a poison message and still delivers the next one of its key; dlq:replay brings back a letter the previous version parked, once', async () => {
    const domain = `poison.${emailDomain}`;
    const { events, recipients } = keyEvents(domain, 3);
    const [before, afterPoison, parked] = events;
    const key = before.keyId;
    const since = Date.now();
    await kafka.produce(Topic.KeyEvents, key, before, POISON, { ...afterPoison, keyId: key });
    const delivered = await settleDeliveries({
      mailpit,
      db,
      eventIds: [before.eventId, afterPoison.eventId],
      expected: [...before.payload.contacts, ...afterPoison.payload.contacts],
      domain,
      since,
    });
    assert.deepEqual({ lost: delivered.lost, duplicated: delivered.duplicated }, { lost: 0, duplicated: 0 });
    const poison = await until('the poison message to be dead-lettered', async () =>
      keyEventLetters().find((l) => l.value.toString() === POISON),
    );
    assert.match(poison.headers[DeadLetterHeader.Reason], /^invalid: not JSON/);

    // A valid event the previous version dead-lettered for a transient failure: lost until replayed.
    const offset = await kafka.produceMessage(Topic.DeadLetter, {
      key: parked.keyId,
      value: JSON.stringify(parked),
      headers: {
        [DeadLetterHeader.Reason]: 'failed after 5 attempts: connection 4 to 127.0.0.1:27017 closed',
        [DeadLetterHeader.SourceTopic]: namespace + Topic.KeyEvents,
        [DeadLetterHeader.SourcePartition]: '0',
        [DeadLetterHeader.SourceOffset]: '12',
        [DeadLetterHeader.Consumer]: 'notification-service',
      },
    });
    const listed = await runTool('dlq:replay', ['list'], env);
    assert.match(listed, new RegExp(`^0@${offset} .* by notification-service .*failed after 5 attempts`, 'm'));
    assert.match(listed, /invalid: not JSON/);
    const inspected = await runTool('dlq:replay', ['inspect', offset], env);
    assert.ok(inspected.includes(parked.eventId), 'inspect shows the message');

    const replayArgs = ['replay', '--from', offset, '--to', offset];
    assert.match(await runTool('dlq:replay', replayArgs, env), /replayed 1 dead letters/);
    const replayed = await settleDeliveries({
      mailpit,
      db,
      eventIds: [parked.eventId],
      expected: parked.payload.contacts,
      domain: `2.${domain}`,
      since,
    });
    assert.deepEqual({ lost: replayed.lost, duplicated: replayed.duplicated }, { lost: 0, duplicated: 0 });

    // Twice more, and everything at once: consumers dedupe, the poison comes back as a letter again.
    await runTool('dlq:replay', replayArgs, env);
    assert.match(await runTool('dlq:replay', ['replay', '--all'], env), /replayed \d+ dead letters/);
    await kafka.caughtUp('notification-service', Topic.KeyEvents);
    const final = await settleDeliveries({
      mailpit,
      db,
      eventIds: events.map((e) => e.eventId),
      expected: recipients,
      domain,
      since,
    });
    assert.deepEqual({ lost: final.lost, duplicated: final.duplicated }, { lost: 0, duplicated: 0 });
    ledger.push({ scenario: 'poison message, then dlq:replay (3 times)', keys: 2, ...final });
    const poisonLetters = () => keyEventLetters().filter((l) => l.value.toString() === POISON);
    const [, replayedPoison] = await until('the replayed poison to be dead-lettered again', async () =>
      poisonLetters().length >= 2 ? poisonLetters() : undefined,
    );
    assert.match(
      replayedPoison.headers[DeadLetterHeader.ReplayedFrom],
      new RegExp(`^${namespace}${Topic.DeadLetter}\\[0\\]@`),
    );
  });
});
