import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AnyKeyEvent, KeyEvent, Topic } from '@keyward/contracts';
import { isolatedEnv, until, untilFound } from '@keyward/testing';
import { sampleMessages } from '../apps/notification-service/src/emails/sample-messages';
import { SmtpRig } from './support/smtp-rig';

/**
 * Delivery when SMTP misbehaves, against a Mailpit of this test's own (the shared one stays up):
 * it refuses recipients whose address starts with "refused", and the test stops and restarts it.
 */
describe('notification-service through SMTP failures', () => {
  const isolated = isolatedEnv();
  const { emailDomain } = isolated;
  let rig: SmtpRig;

  before(async () => {
    rig = await SmtpRig.start(isolated);
  });

  after(async () => {
    await rig?.stop();
  });

  const deliveriesOf = (eventId: string) => rig.db.collection('deliveries').find({ eventId }).toArray();

  it('marks a refused recipient failed without retrying, and still emails the others', async () => {
    const domain = `refusal.${emailDomain}`;
    const event = sampleMessages({ domain })['key-created'] as KeyEvent<'KeyCreated'>;
    event.payload.contacts = [`ops@${domain}`, `refused@${domain}`];
    await rig.kafka.produce(Topic.KeyEvents, event.keyId, event);

    const [email] = await rig.mailpit.waitFor(`@${domain}`, 1, { timeoutMs: 30_000 });
    assert.equal(email.To[0].Address, `ops@${domain}`);
    const refused = await untilFound(
      'the refused delivery to be failed',
      async () => {
        const d = (await deliveriesOf(event.eventId)).find((x) => x.recipient === `refused@${domain}`);
        return d?.status === 'failed' ? d : undefined;
      },
      30_000,
    );
    assert.match(String(refused.error), /5\d\d/, 'the server refusal is recorded');
    // A later email only a retry sweep can deliver: SMTP goes down before it is sent and comes back
    // after its second attempt, so sweeps have run since the refusal was recorded.
    await rig.smtp.stop();
    const marker = sampleMessages({ domain: `swept.${emailDomain}` })['key-revoked'] as AnyKeyEvent;
    await rig.kafka.produce(Topic.KeyEvents, marker.keyId, marker);
    await until(
      'a retry sweep to attempt the marker again',
      async () => {
        const deliveries = await deliveriesOf(marker.eventId);
        return deliveries.length === 2 && deliveries.every((d) => d.attempts >= 2);
      },
      30_000,
    );
    await rig.smtp.resume();
    await rig.mailpit.waitFor(`@swept.${emailDomain}`, 2, { timeoutMs: 30_000 });
    const [again] = (await deliveriesOf(event.eventId)).filter((x) => x.recipient === `refused@${domain}`);
    assert.equal(again.attempts, 1, 'a permanent refusal is not retried');
    assert.equal(await rig.db.collection('delivery_attempts').countDocuments({ recipient: `refused@${domain}` }), 1);
    assert.equal((await rig.mailpit.search(`to:"@${domain}"`)).length, 1);
  });

  it('retries while SMTP is down and delivers every email once it is back, none lost, none doubled', async () => {
    const domain = `outage.${emailDomain}`;
    await rig.smtp.stop();
    const events = ['key-created', 'key-revoked', 'key-expired', 'key-expiring-7-days', 'key-rotated'].map(
      (kind, i) => sampleMessages({ domain: `${i}.${domain}` })[kind] as AnyKeyEvent,
    );
    for (const event of events) await rig.kafka.produce(Topic.KeyEvents, event.keyId, event);

    // Every delivery recorded and failing transiently: pending, with attempts and the error kept.
    await until(
      'every delivery to have failed at least twice',
      async () => {
        const all = await rig.db
          .collection('deliveries')
          .find({ eventId: { $in: events.map((e) => e.eventId) } })
          .toArray();
        return all.length === 10 && all.every((d) => d.status === 'pending' && d.attempts >= 2);
      },
      30_000,
    );
    const pending = await rig.db.collection('deliveries').findOne({ eventId: events[0].eventId });
    assert.ok(pending?.error, 'the transient error is recorded');

    await rig.smtp.resume();
    await rig.mailpit.waitFor(`.${domain}`, 10, { timeoutMs: 60_000 });
    // Every delivery has now been sent: a doubled email would be in Mailpit.
    await rig.settled();
    const emails = await rig.mailpit.messagesTo(`.${domain}`);
    const to = emails.map((m) => m.To[0].Address).sort();
    const expected = events.flatMap((_, i) => [`oncall@${i}.${domain}`, `ops@${i}.${domain}`]).sort();
    assert.deepEqual(to, expected, 'each recipient of each event exactly once');
    for (const event of events) {
      for (const d of await deliveriesOf(event.eventId)) {
        assert.equal(d.status, 'sent');
        assert.ok(d.attempts >= 3, `retried (${d.attempts} attempts)`);
        assert.equal(
          await rig.db.collection('delivery_attempts').countDocuments({ eventId: d.eventId, recipient: d.recipient }),
          d.attempts,
          'one attempt record per attempt',
        );
      }
    }
  });
});
