import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Logger } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { calendarMinuteId, calendarMinuteOf, parseRecordReminderDue, Topic } from '@keyward/contracts';
import { KafkaProducerService, OutgoingMessage } from '@keyward/kafka';
import { Clock } from '@keyward/platform';
import { Types } from 'mongoose';
import { Registry } from 'prom-client';
import { SchedulerSettings } from '../config/scheduler-service.env';
import { DueKey, DueKeysRepository, PageEnd } from './due-keys.repository';
import { ReminderCalendarRepository } from './reminder-calendar.repository';
import { ReminderCommandLeases, ReminderDue } from './reminder-command-leases.repository';
import { ReminderScanService } from './reminder-scan.service';
import { ScanMetrics } from './scan.metrics';
import { ScanProgress, ScanProgressRepository } from './scan-progress.repository';

// The services log every record; the assertions say what matters.
Logger.overrideLogger(false);

const asOf = new Date('2027-04-27T08:00:00.000Z');

/** Due keys held in memory, paged in (nextReminderAt, _id) order as the real query pages. */
class FakeDueKeys {
  pages = 0;
  constructor(readonly keys: DueKey[]) {}
  async duePage(at: Date, after: PageEnd | undefined, limit: number): Promise<DueKey[]> {
    this.pages++;
    const key = (k: DueKey) => `${k.nextReminderAt.toISOString()}|${k._id.toHexString()}`;
    return this.keys
      .filter((k) => k.nextReminderAt <= at && (!after || key(k) > key(after)))
      .sort((a, b) => key(a).localeCompare(key(b)))
      .slice(0, limit);
  }
}

/** The calendar in memory: the keys listed in each minute. */
class FakeCalendar {
  readonly minutes = new Map<string, string[]>();
  read: string[] = [];
  list(key: DueKey): void {
    const id = calendarMinuteId(calendarMinuteOf(key.nextReminderAt));
    this.minutes.set(id, [...(this.minutes.get(id) ?? []), key._id.toHexString()]);
  }
  async keysDueIn(minute: Date): Promise<string[]> {
    this.read.push(calendarMinuteId(minute));
    return this.minutes.get(calendarMinuteId(minute)) ?? [];
  }
}

class FakeProgress {
  progress: ScanProgress | null = null;
  async read(): Promise<ScanProgress | null> {
    return this.progress && { ...this.progress };
  }
  async recordFullScan(progress: ScanProgress): Promise<void> {
    this.progress = { ...progress };
  }
  async recordCalendarRead(calendarReadTo: Date): Promise<void> {
    if (this.progress && calendarReadTo > this.progress.calendarReadTo) this.progress.calendarReadTo = calendarReadTo;
  }
}

/** Commands in flight held in memory, until their lease lapses. */
class FakeLeases {
  private readonly until = new Map<string, number>();
  private id = (due: ReminderDue) => `${due.keyId}@${due.dueBy.toISOString()}`;
  async dropLapsed(now: Date): Promise<void> {
    for (const [id, until] of this.until) if (until <= now.getTime()) this.until.delete(id);
  }
  async claim(keys: ReminderDue[], now: Date, leaseMs: number): Promise<ReminderDue[]> {
    return keys.filter((key) => !this.until.has(this.id(key)) && this.until.set(this.id(key), now.getTime() + leaseMs));
  }
  async release(keys: ReminderDue[]): Promise<void> {
    for (const key of keys) this.until.delete(this.id(key));
  }
}

const LEASE_MS = 600_000;
const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;

class FakeProducer {
  sent: { topic: Topic; key: string; keyId: string; asOf: string }[] = [];
  failOnCall?: number;
  private calls = 0;
  async send(topic: Topic, messages: OutgoingMessage[]): Promise<void> {
    if (++this.calls === this.failOnCall) throw new Error('broker unavailable');
    for (const m of messages) {
      const command = parseRecordReminderDue(m.value as string);
      this.sent.push({ topic, key: m.key, keyId: command.keyId, asOf: command.asOf });
    }
  }
}

function scan(keys: DueKey[], pageSize: number, fullScanEveryMs = HOUR_MS) {
  const dueKeys = new FakeDueKeys(keys);
  const calendar = new FakeCalendar();
  const progress = new FakeProgress();
  const producer = new FakeProducer();
  const registry = new Registry();
  const metrics = new ScanMetrics(registry);
  const settings = {
    REMINDER_SCAN_PAGE_SIZE: pageSize,
    REMINDER_SCAN_CRON: '0 * * * * *',
    REMINDER_COMMAND_LEASE_MS: LEASE_MS,
    REMINDER_FULL_SCAN_EVERY_MS: fullScanEveryMs,
  } as SchedulerSettings;
  let now = asOf;
  const clock = { now: () => now } as Clock;
  const service = new ReminderScanService(
    dueKeys as unknown as DueKeysRepository,
    calendar as unknown as ReminderCalendarRepository,
    progress as unknown as ScanProgressRepository,
    new FakeLeases() as unknown as ReminderCommandLeases,
    producer as unknown as KafkaProducerService,
    clock,
    metrics,
    new SchedulerRegistry(),
    settings,
  );
  return { service, producer, registry, dueKeys, calendar, progress, setNow: (at: Date) => (now = at) };
}

/** 12 keys due at the same instant (as imported legacy keys are), 3 due earlier, 2 not yet due. */
function keys(): DueKey[] {
  const at = (ms: number) => new Date(asOf.getTime() + ms);
  return [
    ...Array.from({ length: 12 }, () => ({ _id: new Types.ObjectId(), nextReminderAt: at(-60_000) })),
    ...Array.from({ length: 3 }, (_, i) => ({ _id: new Types.ObjectId(), nextReminderAt: at(-(i + 2) * 86_400_000) })),
    ...Array.from({ length: 2 }, () => ({ _id: new Types.ObjectId(), nextReminderAt: at(1) })),
  ];
}

describe('reminder scan pass', () => {
  it('sends one command per due key, keyed by keyId, across pages split inside a tie', async () => {
    const all = keys();
    const { service, producer, registry } = scan(all, 5);
    const result = await service.runPass();
    assert.deepEqual([result.full, result.keysDue, result.commandsSent, result.failed], [true, 15, 15, false]);
    const due = all.filter((k) => k.nextReminderAt <= asOf).map((k) => k._id.toHexString());
    assert.deepEqual(producer.sent.map((s) => s.keyId).sort(), due.sort());
    for (const s of producer.sent) {
      assert.equal(s.topic, Topic.KeyReminderCommands);
      assert.equal(s.key, s.keyId);
      assert.equal(s.asOf, asOf.toISOString());
    }
    assert.match(await registry.metrics(), /^keyward_reminder_scan_last_keys_due 15$/m);
  });

  it('sends nothing when nothing is due', async () => {
    const { service, producer } = scan(keys().slice(-2), 5);
    assert.equal((await service.runPass()).keysDue, 0);
    assert.equal(producer.sent.length, 0);
  });

  it('does not send a command again while it is in flight; sends it again once its lease lapses', async () => {
    // Every pass a full scan, as the hourly safety net is.
    const { service, producer, setNow } = scan(keys().slice(0, 15), 5, 1);
    assert.equal((await service.runPass()).commandsSent, 15);
    // key-service has not caught up: every key is still due, and each command still in flight.
    setNow(new Date(asOf.getTime() + LEASE_MS - 1));
    const again = await service.runPass();
    assert.deepEqual([again.keysDue, again.commandsSent], [15, 0]);
    assert.equal(producer.sent.length, 15);
    setNow(new Date(asOf.getTime() + LEASE_MS));
    assert.equal((await service.runPass()).commandsSent, 15, 'a lost command is sent again after its lease');
  });

  it('loses nothing when a pass dies half-way: the next pass sends what is still due', async () => {
    const all = keys();
    const { service, producer, registry } = scan(all, 5);
    producer.failOnCall = 2;
    await assert.rejects(service.runPass(), /broker unavailable/);
    assert.equal(producer.sent.length, 5, 'the first page went out before the failure');
    assert.match(await registry.metrics(), /^keyward_reminder_scan_failures_total 1$/m);
    // The first page is in flight; the rest was never sent, and its claims were freed.
    const first = new Set(producer.sent.map((s) => s.keyId));
    producer.sent = [];
    const result = await service.runPass();
    assert.equal(result.commandsSent, 10);
    const rest = new Set(producer.sent.map((s) => s.keyId));
    assert.equal(rest.size, 10);
    assert.ok(
      [...rest].every((id) => !first.has(id)),
      'only the keys not sent before',
    );
  });
  it('after a full scan reads only the calendar minutes since the last pass, each once a minute has passed it', async () => {
    const at = (minutes: number, seconds = 0) => new Date(asOf.getTime() + minutes * MINUTE_MS + seconds * 1000);
    const listed = [at(1, 30), at(2), at(70)].map((nextReminderAt) => ({ _id: new Types.ObjectId(), nextReminderAt }));
    const { service, producer, dueKeys, calendar, setNow } = scan(listed, 5);
    for (const key of listed) calendar.list(key);

    assert.deepEqual([(await service.runPass()).full, producer.sent.length], [true, 0], 'nothing due yet');
    const scans = dueKeys.pages;
    // At 08:03:10 the minutes up to 08:02 have passed by a whole minute: the keys due at 08:01:30
    // (listed in 08:02) and at 08:02 go out; 08:03 is read on the next pass.
    setNow(at(3, 10));
    const pass = await service.runPass();
    assert.deepEqual([pass.full, pass.keysDue, pass.commandsSent], [false, 2, 2]);
    assert.deepEqual(calendar.read, ['2027-04-27T08:00Z', '2027-04-27T08:01Z', '2027-04-27T08:02Z']);
    assert.deepEqual(
      producer.sent.map((s) => [s.keyId, s.asOf]),
      listed.slice(0, 2).map((k) => [k._id.toHexString(), at(3, 10).toISOString()]),
    );
    setNow(at(4));
    assert.equal((await service.runPass()).keysDue, 0);
    assert.deepEqual(calendar.read.slice(3), ['2027-04-27T08:03Z']);
    assert.equal(dueKeys.pages, scans, 'the keys collection was not read by calendar passes');
  });

  it('scans every key again once the safety-net interval has passed, finding keys the calendar never listed', async () => {
    // Written by the previous version: due, but in no calendar minute.
    const unlisted = [{ _id: new Types.ObjectId(), nextReminderAt: new Date(asOf.getTime() + 30 * MINUTE_MS) }];
    const { service, producer, progress, setNow } = scan(unlisted, 5);
    await service.runPass();
    for (let minutes = 1; minutes < 60; minutes++) {
      setNow(new Date(asOf.getTime() + minutes * MINUTE_MS));
      assert.equal((await service.runPass()).full, false);
    }
    assert.equal(producer.sent.length, 0, 'the calendar does not list it');
    setNow(new Date(asOf.getTime() + HOUR_MS));
    const pass = await service.runPass();
    assert.deepEqual([pass.full, pass.commandsSent], [true, 1]);
    assert.equal(producer.sent[0].keyId, unlisted[0]._id.toHexString());
    assert.equal(progress.progress?.fullScanAt.toISOString(), '2027-04-27T09:00:00.000Z');
  });

  it('reads the same minutes again after a calendar pass that failed to send', async () => {
    const key = { _id: new Types.ObjectId(), nextReminderAt: new Date(asOf.getTime() + 2 * MINUTE_MS) };
    const { service, producer, calendar, setNow } = scan([key], 5);
    calendar.list(key);
    await service.runPass();
    setNow(new Date(asOf.getTime() + 5 * MINUTE_MS));
    producer.failOnCall = 1;
    await assert.rejects(service.runPass(), /broker unavailable/);
    const pass = await service.runPass();
    assert.deepEqual([pass.full, pass.commandsSent], [false, 1]);
    assert.equal(producer.sent[0].keyId, key._id.toHexString());
  });
});
