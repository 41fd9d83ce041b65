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
  const settings = { REMINDER_SCAN_PAGE_SIZE: pageSize, REMINDER_SCAN_CRON: '0 * * * * *' } as SchedulerSettings;
  const clock = { now: () => asOf } as Clock;
  const service = new ReminderScanService(
    dueKeys as unknown as DueKeysRepository,
    producer as unknown as KafkaProducerService,
    clock,
    metrics,
    new SchedulerRegistry(),
    settings,
  );
  return { service, producer, registry };
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

  it('loses nothing when a pass dies half-way: the next pass sends what is still due', async () => {
    const all = keys();
    const { service, producer, registry } = scan(all, 5);
    producer.failOnCall = 2;
    await assert.rejects(service.runPass(), /broker unavailable/);
    assert.equal(producer.sent.length, 5, 'the first page went out before the failure');
    assert.match(await registry.metrics(), /^keyward_reminder_scan_failures_total 1$/m);
    // key-service has not recorded anything yet, so every due key is still due: all are sent again.
    producer.sent = [];
    const result = await service.runPass();
    assert.equal(result.commandsSent, 15);
    assert.equal(new Set(producer.sent.map((s) => s.keyId)).size, 15);
  });
});
