import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import mongoose from 'mongoose';
import { emailsSettled, isolatedEnv, Mailpit, ServiceProcess } from '@keyward/testing';
import { LEGACY_EXPIRES_AT } from '../apps/key-service/src/keys/validity';
import { RemindersService } from '../apps/key-service/src/reminders/reminders.service';
import { loggedInUser } from './support/accounts';
import { keyDocument } from './support/key-documents';
import { call } from './support/http';
import { InProcessKeyService } from './support/key-services';
import { InProcessScheduler, TestClock } from './support/schedulers';

const DAY = 24 * 60 * 60 * 1000;
const STAGES = [30, 14, 7, 3, 1];

/**
 * Reminders end to end: notification-service as a real process, key-service and the schedulers in
 * this process with a clock the test moves, real Kafka, FerretDB and Mailpit. Each phase walks the
 * clock forward a day at a time and reads what every mailbox received.
 */
describe('reminders before expiry, exactly once', () => {
  const { env, mongoUri, emailDomain } = isolatedEnv();
  const mailpit = new Mailpit();
  const clock = new TestClock(new Date());
  const schedulers: InProcessScheduler[] = [];
  let keyService: InProcessKeyService;
  let notificationService: ServiceProcess;
  let db: mongoose.Connection;
  let notifications: mongoose.Connection;
  let token: string;
  let userId: string;
  const at = (name: string) => `${name}@${emailDomain}`;

  before(async () => {
    notificationService = await ServiceProcess.start('notification-service', {
      ...env,
      MONGO_URI: mongoUri('notifications'),
    });
    // key-service judges a reminder command by its own clock (a command's asOf is never taken as
    // later than its now), so it runs here too, on the schedulers' clock.
    InProcessScheduler.configure({
      ...env,
      MONGO_URI: mongoUri('keys'),
      LOG_LEVEL: 'warn',
      // Small pages, so keys sharing one due time are split across pages.
      REMINDER_SCAN_PAGE_SIZE: '5',
      // Passes are driven by the test's clock; the cron would only repeat the current time.
      REMINDER_SCAN_CRON: '0 0 0 1 1 *',
    });
    keyService = await InProcessKeyService.start(clock);
    token = await loggedInUser(mongoUri('keys'), at('owner'), 400 * DAY);
    db = await mongoose.createConnection(mongoUri('keys')).asPromise();
    notifications = await mongoose.createConnection(mongoUri('notifications')).asPromise();
    userId = String((await db.collection('users').findOne({ email: at('owner') }))?._id);
  });

  after(async () => {
    await Promise.all(schedulers.map((s) => s.stop()));
    await Promise.all([db?.close(), notifications?.close()]);
    await Promise.all([keyService?.stop(), notificationService?.stop()]);
  });

  /**
   * Runs as many schedulers as asked (starting or stopping some), each doing one pass per day,
   * concurrently. Returns the commands they sent.
   */
  /** Runs exactly `count` schedulers (starting or stopping the last ones). */
  async function runSchedulers(count: number): Promise<void> {
    while (schedulers.length < count) schedulers.push(await InProcessScheduler.start(clock));
    while (schedulers.length > count) await schedulers.pop()?.stop();
  }

  /** keyward_reminder_scan_commands_sent_total, summed over the schedulers running. */
  async function commandsCounted(): Promise<number> {
    let counted = 0;
    for (const scheduler of schedulers)
      counted += Number(/^keyward_reminder_scan_commands_sent_total (\d+)$/m.exec(await scheduler.metrics())?.[1] ?? 0);
    return counted;
  }

  async function walk(count: number, from: number, to: number): Promise<number> {
    await runSchedulers(count);
    let sent = 0;
    for (let t = from; t <= to; t += DAY) {
      clock.set(t);
      for (const pass of await Promise.all(schedulers.map((s) => s.pass()))) sent += pass.commandsSent;
    }
    return sent;
  }

  /**
   * A key as key-service (or the legacy import) stores it, with its first reminder due
   * `firstStageDays` before expiry (the first stage still ahead when the key was made).
   */
  async function seedKey(fields: {
    contacts: string[];
    expiresAt: Date;
    now: Date;
    firstStageDays: number;
    owner?: { userId: string; email: string };
    label?: string;
    legacy?: boolean;
  }): Promise<string> {
    const _id = new mongoose.Types.ObjectId();
    const label = fields.label ?? `seeded ${_id.toHexString()}`;
    await db.collection('keys').insertOne(
      keyDocument({
        _id,
        owner: { ...(fields.owner ?? { userId, email: at('owner') }), timeZone: 'Asia/Singapore' },
        lastFive: fields.legacy ? '*****' : randomBytes(4).toString('hex').slice(0, 5),
        label,
        contacts: fields.contacts,
        createdAt: fields.now,
        expiresAt: fields.expiresAt,
        legacy: fields.legacy ?? false,
        nextReminderAt: new Date(fields.expiresAt.getTime() - fields.firstStageDays * DAY),
      }),
    );
    return _id.toHexString();
  }

  /**
   * What a mailbox received, in short: "created", "30" (a reminder N days ahead), "1 last" (the
   * final reminder), "expired", or the subject itself for anything else. Listed in lifecycle order
   * (created, reminders from the furthest, expired, then the rest), not arrival order: separate
   * emails leave over a pool of SMTP connections, so their arrival order is not a guarantee; what
   * is asserted is that each arrives exactly once. Read once `count` arrived and every email asked
   * for so far has left, so a repeat would be listed.
   */
  async function mailbox(address: string, count: number): Promise<string[]> {
    await mailpit.waitFor(address, count, { timeoutMs: 60_000 });
    await settled();
    const rank = (short: string) =>
      short === 'created' ? -1 : short === 'expired' ? 1000 : /^\d+/.test(short) ? 100 - parseInt(short, 10) : 2000;
    return (await mailpit.search(`to:"${address}"`))
      .map(({ Subject }) => {
        if (/ created$/.test(Subject)) return 'created';
        if (/ has expired$/.test(Subject)) return 'expired';
        const reminder = / expires (?:in (\d+) days?|within a day)$/.exec(Subject);
        if (reminder) return `${reminder[1] ?? 0}${Subject.startsWith('Last reminder') ? ' last' : ''}`;
        return Subject;
      })
      .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  }

  /** Every email asked for so far has reached Mailpit (see emailsSettled). */
  const settled = () =>
    emailsSettled({ namespace: env.KAFKA_TOPIC_NAMESPACE, keys: db, notifications, timeoutMs: 60_000 });

  const keyDoc = (id: string) => db.collection('keys').findOne({ _id: new mongoose.Types.ObjectId(id) });

  it('walks six months: each stage once per key, stages skipped by short-lived keys, revoked and rotated-out keys silent, new contacts hear the next reminder', async () => {
    const created = await call<{ id: string; createdAt: string; expiresAt: string }>(
      keyService.url,
      token,
      'POST',
      '/v1/keys',
      { label: 'production', contacts: [at('a')] },
    );
    assert.equal(created.status, 201);
    const t0 = Date.parse(created.body.createdAt);
    const now = new Date(t0);

    const revoked = await call<{ id: string }>(keyService.url, token, 'POST', '/v1/keys', {
      label: 'revoked soon',
      contacts: [at('g')],
    });
    assert.equal((await call(keyService.url, token, 'DELETE', `/v1/keys/${revoked.body.id}`)).status, 204);
    const old = await call<{ id: string }>(keyService.url, token, 'POST', '/v1/keys', {
      label: 'rotated',
      contacts: [at('h')],
    });
    const rotated = await call<{ id: string }>(keyService.url, token, 'POST', `/v1/keys/${old.body.id}/rotate`, {
      graceHours: 24,
      label: 'rotated in',
    });
    assert.equal(rotated.status, 201);

    const shortLived = await seedKey({
      contacts: [at('b1')],
      expiresAt: new Date(t0 + 20 * DAY),
      now,
      firstStageDays: 14,
    });
    const lastDays = await seedKey({
      contacts: [at('c')],
      expiresAt: new Date(t0 + 2.5 * DAY),
      now,
      firstStageDays: 1,
    });

    // Up to the 14-day stage of the 20-day key, then its contacts change.
    await walk(1, t0, t0 + 6 * DAY);
    assert.deepEqual(await mailbox(at('b1'), 1), ['14']);
    const replaced = await call(keyService.url, token, 'PUT', `/v1/keys/${shortLived}/contacts`, {
      contacts: [at('b2')],
    });
    assert.equal(replaced.status, 200);
    await walk(1, t0 + 7 * DAY, t0 + 186 * DAY);

    const full = ['created', '30', '14', '7', '3', '1 last', 'expired'];
    assert.deepEqual(await mailbox(at('a'), full.length), full);
    assert.deepEqual((await mailbox(at('b1'), 2)).slice(0, 1), ['14'], 'the old contact heard only the first reminder');
    const b2 = await mailbox(at('b2'), 5);
    assert.deepEqual(b2.slice(0, 4), ['7', '3', '1 last', 'expired'], 'the new contact hears the next ones');
    assert.match(b2[4], /You were added as a contact of API key/);
    assert.deepEqual(
      await mailbox(at('c'), 2),
      ['1 last', 'expired'],
      'created with 2.5 days left: stages 30 to 3 skipped',
    );

    const g = await mailbox(at('g'), 2);
    assert.deepEqual([g[0], g.length], ['created', 2]);
    assert.match(g[1], /was revoked/);
    // The old key told of its rotation (which names the replacement), then silence; the replacement
    // (same contacts) goes through every stage without a "created" email of its own.
    const h = await mailbox(at('h'), 1 + full.length);
    assert.equal(h.filter((s) => /was rotated/.test(s)).length, 1);
    assert.deepEqual(
      h.filter((s) => !/was rotated/.test(s)),
      ['created', ...full.slice(1)],
      'one key created, then the replacement (five stages, expired); nothing more from the old key',
    );

    const oldKey = await keyDoc(old.body.id);
    assert.deepEqual([oldKey?.status, oldKey?.nextReminderAt, oldKey?.remindersSent], ['expired', null, []]);
    const revokedKey = await keyDoc(revoked.body.id);
    assert.deepEqual([revokedKey?.status, revokedKey?.remindersSent], ['revoked', []]);
    assert.deepEqual((await keyDoc(lastDays))?.remindersSent, [1]);
    const fullKey = await keyDoc(created.body.id);
    assert.deepEqual([fullKey?.status, fullKey?.nextReminderAt, fullKey?.remindersSent], ['expired', null, STAGES]);
  });

  for (const count of [2, 3]) {
    it(`${count} schedulers running together send each reminder once`, async () => {
      const t = clock.now().getTime() + 10 * DAY;
      const contact = at(`together${count}`);
      const keyId = await seedKey({
        contacts: [contact],
        expiresAt: new Date(t + 31 * DAY),
        now: new Date(t),
        firstStageDays: 30,
      });
      await runSchedulers(count);
      const countedBefore = await commandsCounted();
      // Up to the 30-day stage, then that stage asked for once more, as a redelivered command or a
      // scheduler whose lease lapsed before key-service caught up would: it is recorded once.
      const sent = await walk(count, t, t + DAY);
      await settled();
      const again = await keyService.get(RemindersService).recordDue({ keyId, asOf: new Date(t + DAY).toISOString() });
      assert.equal(again, 'not-due');
      const later = await walk(count, t + 2 * DAY, t + 32 * DAY);
      assert.ok(sent + later >= 6, `every stage asked for (${sent + later} commands)`);
      assert.deepEqual(await mailbox(contact, 6), ['30', '14', '7', '3', '1 last', 'expired']);
      assert.deepEqual((await keyDoc(keyId))?.remindersSent, STAGES);
      const metrics = await schedulers[count - 1].metrics();
      assert.match(metrics, /^keyward_reminder_scan_passes_total 33$/m);
      assert.match(metrics, /^keyward_reminder_scan_last_duration_seconds \d/m);
      // Which scheduler wins each lease is a race, so the commands are counted across all of them.
      assert.equal((await commandsCounted()) - countedBefore, sent + later, 'each command sent is counted once');
    });
  }

  it('a scheduler stopped for two weeks sends only the most urgent stage on restart', async () => {
    const t = clock.now().getTime() + 10 * DAY;
    const expiresAt = t + 40 * DAY;
    const contact = at('downtime');
    await seedKey({ contacts: [contact], expiresAt: new Date(expiresAt), now: new Date(t), firstStageDays: 30 });
    await walk(1, t, expiresAt - 16 * DAY);
    await schedulers.pop()?.stop();
    // Down from 16 to 2 days before expiry: the 14-, 7- and 3-day stages fell due meanwhile.
    await walk(1, expiresAt - 2 * DAY, expiresAt);
    assert.deepEqual(await mailbox(contact, 4), ['30', '2', '1 last', 'expired']);
  });

  it('legacy keys with the fixed 2024 expiry go the same path, to the owner when they have no contacts', async () => {
    const imported = new Date('2024-03-01T00:00:00.000Z');
    const owners = Array.from({ length: 12 }, (_, i) => at(`legacy${i}`));
    for (const [i, email] of owners.entries()) {
      await seedKey({
        contacts: [],
        expiresAt: LEGACY_EXPIRES_AT,
        now: imported,
        firstStageDays: 30,
        owner: { userId: `legacy-owner-${i}`, email },
        label: 'default',
        legacy: true,
      });
    }
    await walk(1, imported.getTime(), LEGACY_EXPIRES_AT.getTime() + DAY);
    for (const email of owners) {
      assert.deepEqual(await mailbox(email, 6), ['30', '14', '7', '3', '1 last', 'expired'], email);
    }
  });

  it('ignores repeated and stale passes once everything is recorded', async () => {
    await settled();
    const emailed = (await mailpit.search(`to:"${emailDomain}"`)).length;
    clock.set(LEGACY_EXPIRES_AT.getTime() - 20 * DAY);
    await walk(1, clock.now().getTime(), clock.now().getTime());
    clock.set(LEGACY_EXPIRES_AT.getTime() + 400 * DAY);
    const result = await schedulers[0].pass();
    assert.equal(result.keysDue, 0);
    await settled();
    assert.equal((await mailpit.search(`to:"${emailDomain}"`)).length, emailed);
  });
  it('reads the calendar each minute: a new key is reminded from it within two minutes; a key of the previous version (never listed) by the hourly full scan', async () => {
    const MINUTE = 60_000;
    const created = await call<{ id: string; expiresAt: string }>(keyService.url, token, 'POST', '/v1/keys', {
      label: 'listed',
      contacts: [at('listed')],
    });
    assert.equal(created.status, 201);
    const due = Date.parse(created.body.expiresAt) - 30 * DAY;
    // Stored as the previous version stored keys: no calendar entry; due ten minutes after the other.
    const unlisted = at('unlisted');
    const unlistedId = await seedKey({
      contacts: [unlisted],
      expiresAt: new Date(due + 10 * MINUTE + 30 * DAY),
      now: new Date(),
      firstStageDays: 30,
    });
    await walk(1, due - 5 * MINUTE, due - 5 * MINUTE);
    /** One pass a minute from `from` to `to` (minutes after due); all read the calendar, none scans. */
    const minutely = async (from: number, to: number) => {
      for (let m = from; m <= to; m++) {
        clock.set(due + m * MINUTE);
        assert.equal((await schedulers[0].pass()).full, false, `the pass ${m} minutes after due read the calendar`);
      }
      await settled();
    };
    // Due inside a minute: listed in the minute after, which is read once the next one has begun.
    await minutely(-4, 1);
    assert.deepEqual((await keyDoc(created.body.id))?.remindersSent, []);
    await minutely(2, 2);
    assert.deepEqual((await keyDoc(created.body.id))?.remindersSent, [30]);
    assert.deepEqual(await mailbox(at('listed'), 2), ['created', '30']);

    await minutely(3, 54);
    assert.deepEqual((await keyDoc(unlistedId))?.remindersSent, [], 'no calendar pass found it');
    assert.equal((await mailpit.search(`to:"${unlisted}"`)).length, 0);
    clock.set(due + 55 * MINUTE + 1);
    const safetyNet = await schedulers[0].pass();
    assert.deepEqual([safetyNet.full, safetyNet.commandsSent > 0], [true, true]);
    assert.deepEqual(await mailbox(unlisted, 1), ['30']);
  });
});
