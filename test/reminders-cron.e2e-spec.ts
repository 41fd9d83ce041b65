import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import mongoose from 'mongoose';
import { emailsSettled, isolatedEnv, Mailpit, ServiceProcess, sleep } from '@keyward/testing';
import { keyDocument } from './support/key-documents';

const DAY = 24 * 60 * 60 * 1000;

/**
 * The scheduler as it runs in production: two scheduler-service processes on their cron (every
 * second here), real time, against key-service and notification-service processes.
 */
describe('scheduler-service processes on their cron', () => {
  const { env, mongoUri, emailDomain } = isolatedEnv();
  const mailpit = new Mailpit();
  const services: ServiceProcess[] = [];
  let schedulers: ServiceProcess[];
  let db: mongoose.Connection;
  let notifications: mongoose.Connection;
  let unscheduled: mongoose.Types.ObjectId;

  before(async () => {
    db = await mongoose.createConnection(mongoUri('keys')).asPromise();
    notifications = await mongoose.createConnection(mongoUri('notifications')).asPromise();
    // Written before reminders existed: key-service schedules it when it starts.
    unscheduled = await importKey(`before@${emailDomain}`, new Date(Date.now() + 10 * DAY), 170, false);
    services.push(
      ...(await Promise.all([
        ServiceProcess.start('key-service', { ...env, MONGO_URI: mongoUri('keys') }),
        ServiceProcess.start('notification-service', { ...env, MONGO_URI: mongoUri('notifications') }),
      ])),
    );
  });

  after(async () => {
    await Promise.all([db?.close(), notifications?.close()]);
    await Promise.all(services.map((s) => s.stop()));
  });

  /** A key imported (as legacy keys are) `importedDaysAgo` days ago, so its reminders may be overdue. */
  async function importKey(
    contact: string,
    expiresAt: Date,
    importedDaysAgo: number,
    scheduled = true,
  ): Promise<mongoose.Types.ObjectId> {
    const _id = new mongoose.Types.ObjectId();
    const imported = new Date(Date.now() - importedDaysAgo * DAY);
    await db.collection('keys').insertOne(
      keyDocument({
        _id,
        owner: { userId: `owner-${_id.toHexString()}`, email: `owner@${emailDomain}`, timeZone: 'Asia/Singapore' },
        lastFive: '*****',
        label: 'default',
        contacts: [contact],
        createdAt: imported,
        expiresAt,
        legacy: true,
        // Every key here is imported more than 30 days before its expiry: the 30-day stage comes first.
        nextReminderAt: scheduled ? new Date(expiresAt.getTime() - 30 * DAY) : null,
      }),
    );
    return _id;
  }

  it('two schedulers find what is overdue and each contact gets one email: the most urgent stage, or the expiry', async () => {
    const expiring = await importKey(`soon@${emailDomain}`, new Date(Date.now() + 10 * DAY), 60);
    const expired = await importKey(`late@${emailDomain}`, new Date(Date.now() - 60 * 60_000), 60);
    const schedulerEnv = { ...env, MONGO_URI: mongoUri('keys'), REMINDER_SCAN_CRON: '* * * * * *' };
    schedulers = await Promise.all([
      ServiceProcess.start('scheduler-service', schedulerEnv),
      ServiceProcess.start('scheduler-service', schedulerEnv),
    ]);
    services.push(...schedulers);

    const [soon] = await mailpit.waitFor(`soon@${emailDomain}`, 1, { timeoutMs: 30_000 });
    const [late] = await mailpit.waitFor(`late@${emailDomain}`, 1, { timeoutMs: 30_000 });
    assert.match(soon.Subject, /expires in 10 days$/, '30 and 14 were overdue: only the 14-day stage, 10 days left');
    assert.match(late.Subject, /has expired$/);
    const [backfilled] = await mailpit.waitFor(`before@${emailDomain}`, 1, { timeoutMs: 30_000 });
    assert.match(
      backfilled.Subject,
      /expires in 10 days$/,
      'a key from before reminders existed gets its most urgent stage',
    );
    // Everything both schedulers asked for so far has been emailed: a repeat would be in Mailpit now.
    await emailsSettled({ namespace: env.KAFKA_TOPIC_NAMESPACE, keys: db, notifications });
    assert.equal((await mailpit.search(`to:"soon@${emailDomain}"`)).length, 1);
    assert.equal((await mailpit.search(`to:"late@${emailDomain}"`)).length, 1);
    assert.equal((await mailpit.search(`to:"before@${emailDomain}"`)).length, 1);

    const soonKey = await db.collection('keys').findOne({ _id: expiring });
    assert.deepEqual(soonKey?.remindersSent, [14]);
    assert.ok(soonKey?.nextReminderAt > new Date(), 'next reminder (7 days) is in the future');
    assert.equal((await db.collection('keys').findOne({ _id: expired }))?.status, 'expired');
    assert.deepEqual((await db.collection('keys').findOne({ _id: unscheduled }))?.remindersSent, [14]);
  });

  it('exposes per-pass metrics in Prometheus text', async () => {
    let body = '';
    const value = (name: string, text = body) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
    // The cron fires every second: a few passes have run within seconds.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const res = await fetch(`${schedulers[0].url}/metrics`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
      body = await res.text();
      if (value('keyward_reminder_scan_passes_total') >= 3) break;
      assert.ok(Date.now() < deadline, `the cron ran pass after pass: ${value('keyward_reminder_scan_passes_total')}`);
      await sleep(200);
    }
    assert.match(body, /^# TYPE keyward_reminder_scan_passes_total counter$/m);
    assert.equal(value('keyward_reminder_scan_failures_total'), 0);
    // Each command is sent by one scheduler only (the other finds its lease): count both.
    const other = await (await fetch(`${schedulers[1].url}/metrics`)).text();
    const sent = 'keyward_reminder_scan_commands_sent_total';
    assert.ok(value(sent) + value(sent, other) >= 3, 'one command per overdue key (soon, late, before)');
    assert.equal(value('keyward_reminder_scan_last_keys_due'), 0, 'nothing is due any more');
    assert.ok(value('keyward_reminder_scan_last_duration_seconds') > 0, 'a pass reads the database: it takes time');
  });

  it('refuses to start with a malformed cron expression, naming the setting', async () => {
    const failed = await ServiceProcess.start('scheduler-service', {
      ...env,
      MONGO_URI: mongoUri('keys'),
      REMINDER_SCAN_CRON: 'every minute',
    }).then(
      () => assert.fail('started with a malformed cron expression'),
      (error: Error) => error.message,
    );
    assert.match(failed, /exited with 1/);
    // The process has exited; its last output may still be on its way into the log file.
    const logFile = /see (\S+)$/.exec(failed)?.[1] ?? '';
    let log = '';
    for (let i = 0; i < 50 && !log.includes('Invalid configuration'); i++, await sleep(100)) {
      log = readFileSync(logFile, 'utf8');
    }
    assert.match(log, /REMINDER_SCAN_CRON: not a valid cron expression/);
  });
});
