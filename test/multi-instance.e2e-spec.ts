import assert from 'node:assert/strict';
import { after, before, describe, it, TestContext } from 'node:test';
import { DAY_MS } from '@keyward/contracts';
import { Kafka, logLevel } from 'kafkajs';
import mongoose from 'mongoose';
import { emailsSettled, isolatedEnv, Mailpit, ServiceProcess, sleep, stack, until } from '@keyward/testing';
import { loggedInUser } from './support/accounts';
import { keyDocument } from './support/key-documents';

const SERVICE_TOKEN = 'multi-instance-e2e-service-token-0123456789abcdef';
/** Keys imported before reminders existed, each with one reminder overdue. */
const IMPORTED_KEYS = 6;
/** Keys created over HTTP, spread over both key-services. */
const CREATED_KEYS = 16;

interface CreatedKey {
  id: string;
  key: string;
  contact: string;
}

/**
 * Several instances of every service, as production runs them: two key-services, two
 * notification-services and three schedulers (each on a one-second cron) as real processes, on the
 * stack's Kafka (the three-node cluster with KAFKA_NODES=3). Work is shared, never repeated: every
 * email goes once whichever instance handled its event, every reminder once however many schedulers
 * found it due, and a revocation made on one key-service reaches the other's cache within a second.
 */
describe('several instances of every service', () => {
  const { env, mongoUri, emailDomain } = isolatedEnv();
  const mailpit = new Mailpit();
  const address = (name: string) => `${name}@${emailDomain}`;
  const admin = new Kafka({
    clientId: 'keyward-tests',
    brokers: stack.kafkaBrokers.split(','),
    logLevel: logLevel.NOTHING,
  }).admin();
  let keyServices: ServiceProcess[] = [];
  let notifiers: ServiceProcess[] = [];
  let schedulers: ServiceProcess[] = [];
  let keys: mongoose.Connection;
  let notifications: mongoose.Connection;
  let token: string;

  /** A key as the legacy import wrote it before reminders existed: key-service schedules it at start-up. */
  async function importUnscheduledKey(contact: string, expiresAt: Date, importedAt: Date): Promise<void> {
    await keys.collection('keys').insertOne(
      keyDocument({
        owner: { userId: `owner-${contact}`, email: address('owner'), timeZone: 'Asia/Singapore' },
        label: `imported ${contact}`,
        contacts: [contact],
        createdAt: importedAt,
        expiresAt,
        legacy: true,
      }),
    );
  }

  async function createKey(on: ServiceProcess, name: string): Promise<CreatedKey> {
    const contact = address(name);
    const res = await fetch(`${on.url}/v1/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ label: name, contacts: [contact] }),
    });
    assert.equal(res.status, 201, await res.clone().text());
    return { ...((await res.json()) as { id: string; key: string }), contact };
  }

  async function revoke(on: ServiceProcess, key: CreatedKey): Promise<void> {
    const res = await fetch(`${on.url}/v1/keys/${key.id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(res.status, 204, await res.clone().text());
  }

  async function verify(on: ServiceProcess, key: CreatedKey): Promise<{ valid: boolean; reason?: string }> {
    const res = await fetch(`${on.url}/v1/keys/verify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-service-token': SERVICE_TOKEN },
      body: JSON.stringify({ key: key.key }),
    });
    assert.equal(res.status, 200, await res.clone().text());
    return (await res.json()) as { valid: boolean; reason?: string };
  }

  /** How many members a consumer group of this test has, once it is stable (0 while it rebalances). */
  async function stableMembers(group: string): Promise<number> {
    const { groups } = await admin.describeGroups([env.KAFKA_TOPIC_NAMESPACE + group]);
    return groups[0]?.state === 'Stable' ? groups[0].members.length : 0;
  }

  /** A counter from a service's Prometheus metrics. */
  async function metric(service: ServiceProcess, name: string): Promise<number> {
    const body = await (await fetch(`${service.url}/metrics`)).text();
    return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(body)?.[1] ?? 0);
  }

  /** Every email to this test's domain: how many of each (recipient, subject). */
  async function emailsSent(): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    for (const m of await mailpit.search(`to:"@${emailDomain}"`))
      for (const to of m.To) {
        const sent = `${to.Address} | ${m.Subject}`;
        counts.set(sent, (counts.get(sent) ?? 0) + 1);
      }
    return counts;
  }

  /**
   * Nothing was or will be sent twice: every email asked for so far has gone (emailsSettled), no
   * (recipient, subject) is in Mailpit twice, and every delivery record was sent at its first attempt
   * (a second attempt would be a resend, even one Mailpit might fold).
   */
  async function assertNothingTwice(): Promise<Map<string, number>> {
    await emailsSettled({ namespace: env.KAFKA_TOPIC_NAMESPACE, keys, notifications });
    const counts = await emailsSent();
    assert.deepEqual(
      [...counts].filter(([, n]) => n !== 1),
      [],
      'no email twice',
    );
    const deliveries = await notifications.collection('deliveries').find().toArray();
    assert.deepEqual(
      deliveries.filter((d) => d.status !== 'sent' || d.attempts !== 1).map((d) => [d.recipient, d.status, d.attempts]),
      [],
      'every delivery sent at its first attempt',
    );
    return counts;
  }

  before(async () => {
    keys = await mongoose.createConnection(mongoUri('keys')).asPromise();
    notifications = await mongoose.createConnection(mongoUri('notifications')).asPromise();
    await admin.connect();
    // 14 days of notice overdue, 10 days left: one reminder each; both key-services schedule them at start-up.
    const imported = new Date(Date.now() - 60 * DAY_MS);
    for (let i = 1; i <= IMPORTED_KEYS; i++)
      await importUnscheduledKey(address(`imported-${i}`), new Date(Date.now() + 10 * DAY_MS), imported);

    const keyServiceEnv = {
      ...env,
      MONGO_URI: mongoUri('keys'),
      VERIFY_SERVICE_TOKENS: SERVICE_TOKEN,
      // One account creates every key here: this tests instances, not the key-change limit.
      KEY_CHANGES_PER_HOUR: '1000',
    };
    const schedulerEnv = { ...env, MONGO_URI: mongoUri('keys'), REMINDER_SCAN_CRON: '* * * * * *' };
    const started = await Promise.all([
      ServiceProcess.start('key-service', keyServiceEnv, { timeoutMs: 90_000 }),
      ServiceProcess.start('key-service', keyServiceEnv, { timeoutMs: 90_000 }),
      ServiceProcess.start(
        'notification-service',
        { ...env, MONGO_URI: mongoUri('notifications') },
        { timeoutMs: 90_000 },
      ),
      ServiceProcess.start(
        'notification-service',
        { ...env, MONGO_URI: mongoUri('notifications') },
        { timeoutMs: 90_000 },
      ),
    ]);
    keyServices = started.slice(0, 2);
    notifiers = started.slice(2, 4);
    // After the key-services have scheduled the imported keys (at start-up), so the schedulers' first
    // pass, a full scan, finds them due; scheduled while a scheduler reads the calendar instead, an
    // overdue key is listed in the next minute no pass has read, a minute or two later.
    schedulers = await Promise.all(
      Array.from({ length: 3 }, () => ServiceProcess.start('scheduler-service', schedulerEnv, { timeoutMs: 90_000 })),
    );
    token = await loggedInUser(mongoUri('keys'), address('owner'));
    // Both members of each shared group own partitions before the work arrives.
    await until(
      'two notification-services in their group',
      async () => (await stableMembers('notification-service')) === 2,
      60_000,
    );
    await until(
      'two key-services in the reminder group',
      async () => (await stableMembers('key-service-reminders')) === 2,
      60_000,
    );
  });

  after(async () => {
    await Promise.all([...keyServices, ...notifiers, ...schedulers].map((s) => s.stop()));
    await Promise.all([keys?.close(), notifications?.close(), admin.disconnect()]);
  });

  it('emails each key created on either key-service once, from either notification-service', async (t: TestContext) => {
    const created = await Promise.all(
      Array.from({ length: CREATED_KEYS }, (_, i) => createKey(keyServices[i % 2], `created-${i + 1}`)),
    );
    const counts = await assertNothingTwice();
    for (const key of created)
      assert.equal(
        [...counts.keys()].filter((sent) => sent.startsWith(`${key.contact} | New API key`)).length,
        1,
        `KeyCreated email to ${key.contact}`,
      );
    // Each key's events go to one partition by keyId; each instance owns three of the six.
    const sentBy = await Promise.all(
      notifiers.map((n) => metric(n, 'keyward_delivery_attempts_total\\{outcome="sent"\\}')),
    );
    t.diagnostic(`emails sent by each notification-service: ${sentBy.join(', ')}`);
    assert.ok(
      sentBy.every((n) => n > 0),
      `both notification-services sent emails: ${sentBy.join(', ')}`,
    );
  });

  it('sends each due reminder once, though three schedulers find it due', async (t: TestContext) => {
    const contacts = Array.from({ length: IMPORTED_KEYS }, (_, i) => address(`imported-${i + 1}`));
    for (const contact of contacts) await mailpit.waitFor(contact, 1, { timeoutMs: 60_000 });
    // A scheduler repeating a reminder would do it in a pass after the first: wait until each has
    // run two more passes (the first may have begun before the reminders were recorded).
    const passes = () => Promise.all(schedulers.map((s) => metric(s, 'keyward_reminder_scan_passes_total')));
    const before = await passes();
    await until(
      'two more passes on every scheduler',
      async () => (await passes()).every((n, i) => n >= before[i] + 2),
      60_000,
    );
    const counts = await assertNothingTwice();
    for (const contact of contacts) {
      const reminders = [...counts.keys()].filter((sent) => sent.startsWith(`${contact} | `));
      assert.equal(reminders.length, 1, `one email to ${contact}: ${reminders.join('; ')}`);
      assert.match(reminders[0], /expires in 10 days$/);
    }
    const stages = await keys
      .collection('keys')
      .find({ legacy: true })
      .map((k) => k.remindersSent)
      .toArray();
    assert.deepEqual(
      stages,
      Array.from({ length: IMPORTED_KEYS }, () => [14]),
    );
    const commands = await Promise.all(schedulers.map((s) => metric(s, 'keyward_reminder_scan_commands_sent_total')));
    t.diagnostic(`reminder commands sent by each scheduler: ${commands.join(', ')}`);
  });

  it('a revocation on either key-service is answered revoked by the other within a second', async (t: TestContext) => {
    const took: number[] = [];
    for (const [revoker, other] of [keyServices, [...keyServices].reverse()]) {
      const key = await createKey(revoker, `revoked-${took.length + 1}`);
      // Both caches hold the key as valid.
      assert.equal((await verify(revoker, key)).valid, true);
      assert.equal((await verify(other, key)).valid, true);
      await revoke(revoker, key);
      const revokedAt = Date.now();
      assert.deepEqual(await verify(revoker, key), { valid: false, reason: 'revoked' }, 'at once where revoked');
      // The other instance answers valid from its cache until the KeyRevoked event drops it there.
      for (;;) {
        const answer = await verify(other, key);
        if (answer.reason === 'revoked') break;
        assert.equal(answer.valid, true, `unexpected answer ${JSON.stringify(answer)}`);
        assert.ok(Date.now() - revokedAt <= 5_000, 'the other key-service never answered revoked');
        await sleep(20);
      }
      took.push(Date.now() - revokedAt);
    }
    t.diagnostic(`revocation answered by the other key-service after ${took.join(' ms and ')} ms`);
    assert.ok(
      took.every((ms) => ms <= 1_000),
      `within a second: ${took.join(', ')} ms`,
    );
    await assertNothingTwice();
  });
});
