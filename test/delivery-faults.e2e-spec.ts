import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DeadLetterHeader, DEV_KEY_EVENTS_SIGNING_KEY, KeyEvent, Topic } from '@keyward/contracts';
import { until, untilFound } from '@keyward/testing';
import mongoose from 'mongoose';
import { createTransport } from 'nodemailer';
import { messageIdOf, newMessageId } from '../apps/notification-service/src/deliveries/message-id';
import { formatLedger, LedgerRow } from './support/delivery-ledger';
import { DeliveryRig, FAULT_TIMEOUT_MS, POISON } from './support/delivery-rig';
import { runTool } from './support/operator-tools';

/**
 * The delivery guarantees under the outages real providers have, shortened for CI: notification-
 * service against a Mailpit and a FerretDB of this test's own (the shared ones stay up), with tiny
 * backoffs and a 30 s give-up window so hours of outage take seconds. Every scenario ends with each
 * expected email in Mailpit exactly once. `npm run faults` runs the same scenarios at length.
 */
describe('delivery through long outages', () => {
  let rig: DeliveryRig;
  let db: mongoose.Connection;
  let namespace: string;
  /** One row per scenario, printed at the end. */
  const ledger: LedgerRow[] = [];

  before(async () => {
    rig = await DeliveryRig.start();
    ({ db, namespace } = rig);
  });

  after(async () => {
    if (ledger.length) console.log(formatLedger(ledger));
    await rig?.stop();
  });

  const exactlyOnce = (row: LedgerRow) => {
    ledger.push(row);
    assert.deepEqual({ lost: row.lost, duplicated: row.duplicated }, { lost: 0, duplicated: 0 }, row.scenario);
  };

  it('SMTP refusing for longer than the old 20-attempt give-up, then back: every email exactly once', async () => {
    exactlyOnce(await rig.smtpOutage({ keys: 4, attemptsBeyond: 20 }));
  });

  it('fails a delivery past its give-up window with the reason; deliveries:redrive sends it once, and a second run changes nothing', async () => {
    const domain = `give-up.${rig.emailDomain}`;
    const { events, recipients } = rig.keyEvents(domain, 2);
    const eventIds = events.map((e) => e.eventId);
    await rig.smtp.stop();
    await rig.produceAll(events);
    const failed = await untilFound(
      'every delivery to be given up',
      async () => {
        const all = await rig.deliveriesOf(eventIds);
        return all.length === recipients.length && all.every((d) => d.status === 'failed') ? all : undefined;
      },
      FAULT_TIMEOUT_MS,
    );
    for (const d of failed) assert.match(String(d.error), /^gave up after 3\ds and \d+ attempts: .*ECONNREFUSED/);
    await rig.smtp.resume();

    const listed = await runTool('deliveries:redrive', ['--all-failed', '--dry-run'], rig.toolEnv);
    assert.match(listed, /4 failed deliveries match; nothing changed/);
    const since = Date.now();
    assert.match(
      await runTool('deliveries:redrive', ['--event', eventIds[0]], rig.toolEnv),
      /re-drove 2 of 2 matching/,
    );
    assert.match(await runTool('deliveries:redrive', ['--all-failed'], rig.toolEnv), /re-drove 2 of 2 matching/);
    exactlyOnce(await rig.settle('SMTP down past the give-up window, then deliveries:redrive', domain, events, since));

    assert.match(await runTool('deliveries:redrive', ['--all-failed'], rig.toolEnv), /re-drove 0 of 0 matching/);
    for (const d of await rig.deliveriesOf(eventIds)) {
      assert.equal(d.status, 'sent');
      assert.ok(d.redrivenAt instanceof Date);
    }
    assert.equal((await rig.mailpit.search(`to:"${domain}"`)).length, recipients.length);
  });

  it('carries on with deliveries recorded by the previous version: a pending one is sent, a failed one re-driven', async () => {
    const domain = `old-shape.${rig.emailDomain}`;
    const { events } = rig.keyEvents(domain, 2);
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

    assert.match(await runTool('deliveries:redrive', ['--event', failed.eventId], rig.toolEnv), /re-drove 2 of 2/);
    exactlyOnce(await rig.settle('records of the previous version (pending; failed, re-driven)', domain, events, now));
    for (const d of await rig.deliveriesOf([pending.eventId])) assert.equal(d.attempts, 4, 'continued from attempt 3');
  });

  it('database unreachable for longer than the old retry budget: no dead letter, every email once it is back', async () => {
    const { deadLettered, ...row } = await rig.databaseDown({ keys: 3, failedAttempts: 6 });
    exactlyOnce(row);
    assert.equal(deadLettered, 0, 'nothing dead-lettered');
  });

  it('database frozen for longer than a session timeout: the consumer stays in its group, every email once', async () => {
    // 12 s: longer than the group's 10 s session timeout, so a member that stopped heartbeating would be dropped.
    const { deadLettered, rebalanced, ...row } = await rig.databaseFrozen({ keys: 3, stallMs: 12_000 });
    exactlyOnce(row);
    assert.equal(deadLettered, 0, 'nothing dead-lettered');
    assert.equal(rebalanced, false, 'no rebalance');
  });

  it('asks Mailpit about what a killed worker left sending: an email it holds is recorded, not sent again; one it does not hold is sent once, whatever was planted under a derivable Message-ID', async () => {
    const domain = `reconcile.${rig.emailDomain}`;
    const {
      events: [event],
    } = rig.keyEvents(domain, 1);
    const [held, notHeld] = event.payload.contacts;
    const now = Date.now();
    // As a worker killed mid-send leaves them: attempt 1 taken and sending, its lease lapsed; `held`
    // as the previous version recorded it (no Message-ID stored: it derived one), `notHeld` as this one.
    const notHeldMessageId = newMessageId(event.eventId);
    await db.collection('deliveries').insertMany(
      event.payload.contacts.map((recipient) => ({
        ...(recipient === notHeld && { messageId: notHeldMessageId }),
        _id: `${event.eventId}/${recipient}`,
        eventId: event.eventId,
        recipient,
        eventType: event.type,
        keyId: event.keyId,
        status: 'sending',
        attempts: 1,
        nextAttemptAt: new Date(now - 1_000),
        message: event,
        smtpMessageId: null,
        smtpResponse: null,
        redrivenAt: null,
        error: null,
        createdAt: new Date(now - 31_000),
        updatedAt: new Date(now - 31_000),
      })) as unknown as mongoose.mongo.OptionalId<mongoose.mongo.Document>[],
    );
    await db.collection('delivery_attempts').insertMany(
      event.payload.contacts.map((recipient) => ({
        _id: `${event.eventId}/${recipient}/1`,
        eventId: event.eventId,
        recipient,
        attempt: 1,
        startedAt: new Date(now - 31_000),
        leaseUntil: new Date(now - 1_000),
      })) as unknown as mongoose.mongo.OptionalId<mongoose.mongo.Document>[],
    );
    // Mailpit had stored the worker's email to `held` (its Message-ID) when the worker died; and to
    // `notHeld`, someone who can submit mail to it planted one under the Message-ID derived from the
    // event and the recipient, as the previous version made them (a customer can derive both).
    const derived = (recipient: string) => messageIdOf({ eventId: event.eventId, recipient });
    const smtp = createTransport({ host: '127.0.0.1', port: rig.smtp.smtpPort, secure: false, ignoreTLS: true });
    try {
      for (const [to, subject] of [
        [held, 'sent by the killed worker'],
        [notHeld, 'planted'],
      ])
        await smtp.sendMail({
          from: 'keyward <no-reply@keyward.local>',
          to,
          subject,
          text: subject,
          messageId: derived(to),
        });
    } finally {
      smtp.close();
    }

    const settled = await untilFound(
      'both deliveries to be sent',
      async () => {
        const all = await rig.deliveriesOf([event.eventId]);
        return all.length === 2 && all.every((d) => d.status === 'sent') ? all : undefined;
      },
      FAULT_TIMEOUT_MS,
    );
    const of = (recipient: string) => settled.find((d) => d.recipient === recipient)!;
    assert.match(String(of(held).smtpResponse), /^reconciled: Mailpit holds it as message \w+, stored /);
    assert.equal(of(held).attempts, 1, 'no new attempt');
    assert.equal(of(held).smtpMessageId, derived(held));
    assert.match(String(of(notHeld).smtpResponse), /^250 /);
    assert.equal(of(notHeld).attempts, 2);
    assert.equal(of(notHeld).error, null);
    assert.equal(of(notHeld).smtpMessageId, notHeldMessageId);
    const arrived = async (recipient: string) =>
      (await rig.mailpit.search(`to:"${recipient}"`)).map((m) => `<${m.MessageID}>`).sort();
    assert.deepEqual(await arrived(held), [derived(held)], `one email to ${held}`);
    assert.deepEqual(await arrived(notHeld), [derived(notHeld), notHeldMessageId].sort(), 'the planted one and ours');
    const metrics = await (await fetch(`${rig.service.url}/metrics`)).text();
    assert.match(metrics, /^keyward_delivery_attempts_total\{outcome="reconciled"\} [1-9]/m);
  });

  it('notification-service killed (-9) mid-burst: every email exactly once, one transmission per Message-ID', async () => {
    const row = await rig.serviceKilledMidBurst({ keys: 10 });
    exactlyOnce(row);
    // A send Mailpit took before the kill and the worker had not journaled is found by its Message-ID.
    assert.equal(row.transmissions, row.expected, 'one transmission per expected email');
    assert.equal(row.delivered, row.expected, 'each under a Message-ID of its own');
  });

  it('dead-letters a poison message and still delivers the next message of its key', async () => {
    const { letter, ...row } = await rig.poisonMessage();
    exactlyOnce(row);
    assert.match(String(letter?.reason), /^invalid: not JSON/);
  });

  it('dlq:replay lists and inspects dead letters, and brings back a letter the previous version parked, once however often replayed', async () => {
    const domain = `replay.${rig.emailDomain}`;
    const {
      events: [parked],
    } = rig.keyEvents(domain, 1);
    const env = rig.env;
    // A valid event the previous version dead-lettered for a transient failure: lost until replayed.
    const offset = await rig.kafka.produceMessage(Topic.DeadLetter, {
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
    // And a poison message, which no replay can fix.
    await rig.kafka.produce(Topic.KeyEvents, 'k-replay-poison', POISON);
    const poisonLetters = () => rig.keyEventLetters().filter((l) => l.value.toString() === POISON);
    const poisonBefore = poisonLetters().length;
    await until('the poison to be dead-lettered', async () => poisonLetters().length > poisonBefore, FAULT_TIMEOUT_MS);

    const listed = await runTool('dlq:replay', ['list'], env);
    assert.match(listed, new RegExp(`^0@${offset} .* by notification-service .*failed after 5 attempts`, 'm'));
    assert.match(listed, /invalid: not JSON/);
    const inspected = await runTool('dlq:replay', ['inspect', offset], env);
    assert.ok(inspected.includes(parked.eventId), 'inspect shows the message');

    const since = Date.now();
    // The previous version did not sign key events: the operator vouches for this letter by signing it.
    const replayArgs = ['replay', '--from', offset, '--to', offset, '--sign-key-events'];
    const signingEnv = { ...env, KEY_EVENTS_SIGNING_KEY: DEV_KEY_EVENTS_SIGNING_KEY };
    assert.match(await runTool('dlq:replay', replayArgs, signingEnv), /replayed 1 dead letters/);
    exactlyOnce(await rig.settle('dead letter of the previous version, dlq:replay', domain, [parked], since));

    // Twice more, and everything at once: consumers dedupe, the poison comes back as a letter again.
    const poisonBeforeAll = poisonLetters().length;
    await runTool('dlq:replay', replayArgs, signingEnv);
    assert.match(await runTool('dlq:replay', ['replay', '--all'], env), /replayed \d+ dead letters/);
    await rig.kafka.caughtUp('notification-service', Topic.KeyEvents);
    const again = await rig.settle('dead letters replayed three times', domain, [parked], since);
    assert.deepEqual({ lost: again.lost, duplicated: again.duplicated }, { lost: 0, duplicated: 0 });
    const replayedPoison = await untilFound(
      'the replayed poison to be dead-lettered again',
      () => poisonLetters()[poisonBeforeAll],
      FAULT_TIMEOUT_MS,
    );
    assert.match(
      replayedPoison.headers[DeadLetterHeader.ReplayedFrom],
      new RegExp(`^${namespace}${Topic.DeadLetter}\\[0\\]@`),
    );
  });
});
