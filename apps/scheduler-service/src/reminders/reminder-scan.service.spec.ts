import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Logger } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { parseRecordReminderDue, Topic } from '@keyward/contracts';
import { KafkaProducerService, OutgoingMessage } from '@keyward/kafka';
import { Clock } from '@keyward/platform';
import { Types } from 'mongoose';
import { Registry } from 'prom-client';
import { SchedulerSettings } from '../config/scheduler-service.env';
import { DueKey, DueKeysRepository, PageEnd } from './due-keys.repository';
import { ReminderCommandLeases } from './reminder-command-leases.repository';
import { ReminderScanService } from './reminder-scan.service';
import { ScanMetrics } from './scan.metrics';

// The services log every record; the assertions say what matters.
Logger.overrideLogger(false);

const asOf = new Date('2027-04-27T08:00:00.000Z');

/** Due keys held in memory, paged in (nextReminderAt, _id) order as the real query pages. */
class FakeDueKeys {
  constructor(readonly keys: DueKey[]) {}
  async duePage(at: Date, after: PageEnd | undefined, limit: number): Promise<DueKey[]> {
    const key = (k: DueKey) => `${k.nextReminderAt.toISOString()}|${k._id.toHexString()}`;
    return this.keys
      .filter((k) => k.nextReminderAt <= at && (!after || key(k) > key(after)))
      .sort((a, b) => key(a).localeCompare(key(b)))
      .slice(0, limit);
  }
}

/** Commands in flight held in memory, until their lease lapses. */
class FakeLeases {
  private readonly until = new Map<string, number>();
  private id = (key: DueKey) => `${key._id.toHexString()}@${key.nextReminderAt.toISOString()}`;
  async dropLapsed(now: Date): Promise<void> {
    for (const [id, until] of this.until) if (until <= now.getTime()) this.until.delete(id);
  }
  async claim(keys: DueKey[], now: Date, leaseMs: number): Promise<DueKey[]> {
    return keys.filter((key) => !this.until.has(this.id(key)) && this.until.set(this.id(key), now.getTime() + leaseMs));
  }
  async release(keys: DueKey[]): Promise<void> {
    for (const key of keys) this.until.delete(this.id(key));
  }
}

const LEASE_MS = 600_000;

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

function scan(keys: DueKey[], pageSize: number) {
  const dueKeys = new FakeDueKeys(keys);
  const producer = new FakeProducer();
  const registry = new Registry();
  const metrics = new ScanMetrics(registry);
  const settings = {
    REMINDER_SCAN_PAGE_SIZE: pageSize,
    REMINDER_SCAN_CRON: '0 * * * * *',
    REMINDER_COMMAND_LEASE_MS: LEASE_MS,
  } as SchedulerSettings;
  let now = asOf;
  const clock = { now: () => now } as Clock;
  const service = new ReminderScanService(
    dueKeys as unknown as DueKeysRepository,
    new FakeLeases() as unknown as ReminderCommandLeases,
    producer as unknown as KafkaProducerService,
    clock,
    metrics,
    new SchedulerRegistry(),
    settings,
  );
  return { service, producer, registry, setNow: (at: Date) => (now = at) };
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
    assert.deepEqual([result.keysDue, result.commandsSent, result.failed], [15, 15, false]);
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
    const { service, producer, setNow } = scan(keys().slice(0, 15), 5);
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
});
