import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Logger } from '@nestjs/common';
import { AnyKeyEvent, DAY_MS, parseKeyEvent } from '@keyward/contracts';
import { Clock } from '@keyward/platform';
import { Types } from 'mongoose';
import { KeyServiceSettings } from '../config/key-service.env';
import { KeyStatus } from '../keys/key.schema';
import { OutboxRelayService } from '../outbox/outbox-relay.service';
import { OutboxEntry } from '../outbox/outbox-entry.schema';
import { KeysRepository, ReminderClaim, ReminderView } from '../keys/keys.repository';
import { RemindersService } from './reminders.service';

// The services log every record; the assertions say what matters.
Logger.overrideLogger(false);

const STAGES = [30, 14, 7, 3, 1];
const expiresAt = new Date('2027-05-27T08:00:00.000Z');
const daysBefore = (days: number) => new Date(expiresAt.getTime() - days * DAY_MS).toISOString();

/** One key in memory. `winsAlways` makes every claim win, as racing writers can on FerretDB. */
class FakeRepository {
  claims: { claim: ReminderClaim; events: AnyKeyEvent[] }[] = [];
  winsAlways = false;
  constructor(public key: ReminderView | null) {}

  async findForReminder(): Promise<ReminderView | null> {
    return this.key && copy(this.key);
  }

  async claimReminder(seen: ReminderView, claim: ReminderClaim, entries: OutboxEntry[]): Promise<boolean> {
    const k = this.key;
    const unchanged =
      k &&
      k.status === KeyStatus.Active &&
      (k.rotatedTo ?? null) === (seen.rotatedTo ?? null) &&
      k.nextReminderAt?.getTime() === seen.nextReminderAt?.getTime() &&
      k.expiresAt.getTime() === seen.expiresAt.getTime() &&
      k.contacts.join() === seen.contacts.join();
    if (!unchanged && !this.winsAlways) return false;
    this.claims.push({ claim, events: entries.map((e) => parseKeyEvent(e.value)) });
    if (k) {
      k.nextReminderAt = claim.nextReminderAt;
      if (claim.status) k.status = claim.status;
      if (claim.sentStage !== undefined) k.remindersSent = [...(k.remindersSent ?? []), claim.sentStage];
    }
    return true;
  }
}

const copy = (k: ReminderView): ReminderView => ({
  ...k,
  contacts: [...k.contacts],
  remindersSent: [...(k.remindersSent ?? [])],
});

function key(overrides: Partial<ReminderView> = {}): ReminderView {
  return {
    _id: new Types.ObjectId(),
    owner: { userId: 'u1', email: 'owner@example.com', timeZone: 'Asia/Singapore' },
    label: 'production',
    lastFive: 'abcde',
    contacts: ['ops@example.com'],
    expiresAt,
    status: KeyStatus.Active,
    // Created 2026-11-27: its first reminder is the 30-day stage.
    nextReminderAt: new Date('2027-04-27T08:00:00.000Z'),
    remindersSent: [],
    rotatedTo: null,
    ...overrides,
  };
}

/** key-service's own clock stands after every asOf below unless a test says otherwise. */
function service(repo: FakeRepository, now = new Date('2028-01-01T00:00:00.000Z')) {
  /** The documents the relay was handed, by collection. */
  const nudged: string[] = [];
  const relay = {
    nudge: (collection: string, ...ids: unknown[]) => nudged.push(...ids.map((id) => `${collection}/${String(id)}`)),
  } as unknown as OutboxRelayService;
  const config = { REMINDER_STAGES_DAYS: STAGES } as unknown as KeyServiceSettings;
  const clock = { now: () => now } as Clock;
  const reminders = new RemindersService(repo as unknown as KeysRepository, relay, clock, config);
  return { reminders, nudged };
}

describe('recording a due reminder', () => {
  it('emits the stage with days left and the current contacts, and moves the next reminder on', async () => {
    const repo = new FakeRepository(key());
    const { reminders, nudged } = service(repo);
    const keyId = repo.key!._id.toHexString();
    assert.equal(await reminders.recordDue({ keyId, asOf: daysBefore(30) }), 'expiring');
    const [{ claim, events }] = repo.claims;
    assert.equal(claim.sentStage, 30);
    assert.equal(claim.nextReminderAt?.toISOString(), daysBefore(14));
    const [event] = events;
    assert.equal(event.type, 'KeyExpiring');
    assert.deepEqual(
      event.type === 'KeyExpiring' && [event.payload.stageDays, event.payload.daysLeft, event.payload.finalReminder],
      [30, 30, false],
    );
    assert.deepEqual(event.payload.contacts, ['ops@example.com']);
    assert.equal(event.occurredAt, daysBefore(30));
    assert.deepEqual(nudged, [`keys/${keyId}`], 'the relay was handed the key it was written to');
  });

  it('records each stage once however often the command arrives', async () => {
    const repo = new FakeRepository(key());
    const { reminders } = service(repo);
    const keyId = repo.key!._id.toHexString();
    assert.equal(await reminders.recordDue({ keyId, asOf: daysBefore(30) }), 'expiring');
    assert.equal(await reminders.recordDue({ keyId, asOf: daysBefore(30) }), 'not-due');
    assert.equal(await reminders.recordDue({ keyId, asOf: daysBefore(20) }), 'not-due');
    assert.equal(repo.claims.length, 1);
  });

  it('gives racing winners of the same stage the same event id, so consumers send it once', async () => {
    const repo = new FakeRepository(key());
    repo.winsAlways = true;
    const { reminders } = service(repo);
    const keyId = repo.key!._id.toHexString();
    const seen = copy(repo.key!);
    // Both read the key before either wrote: the second write matches on a store without atomic CAS.
    await reminders.recordDue({ keyId, asOf: daysBefore(30) });
    repo.key = seen;
    await reminders.recordDue({ keyId, asOf: daysBefore(29) });
    const [a, b] = repo.claims.map((c) => c.events[0].eventId);
    assert.equal(a, b);
    assert.match(a, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('after downtime records only the most urgent due stage', async () => {
    const repo = new FakeRepository(key({ remindersSent: [30], nextReminderAt: new Date(daysBefore(14)) }));
    const { reminders } = service(repo);
    await reminders.recordDue({ keyId: repo.key!._id.toHexString(), asOf: daysBefore(2) });
    const [event] = repo.claims[0].events;
    assert.deepEqual(event.type === 'KeyExpiring' && [event.payload.stageDays, event.payload.daysLeft], [3, 2]);
  });

  it('expires the key with KeyExpired once the expiry is reached, then records nothing more', async () => {
    const repo = new FakeRepository(key({ remindersSent: STAGES, nextReminderAt: expiresAt }));
    const { reminders } = service(repo);
    const keyId = repo.key!._id.toHexString();
    assert.equal(await reminders.recordDue({ keyId, asOf: expiresAt.toISOString() }), 'expired');
    assert.deepEqual([repo.key?.status, repo.key?.nextReminderAt], [KeyStatus.Expired, null]);
    assert.equal(repo.claims[0].events[0].type, 'KeyExpired');
    assert.equal(
      await reminders.recordDue({ keyId, asOf: new Date(expiresAt.getTime() + DAY_MS).toISOString() }),
      'not-due',
    );
    assert.equal(repo.claims.length, 1);
  });

  it('records nothing for a revoked key', async () => {
    const repo = new FakeRepository(key({ status: KeyStatus.Revoked }));
    const { reminders } = service(repo);
    assert.equal(await reminders.recordDue({ keyId: repo.key!._id.toHexString(), asOf: daysBefore(1) }), 'not-due');
    assert.equal(repo.claims.length, 0);
  });

  it('closes a rotated-out key at the end of its grace period without any email', async () => {
    const graceEnd = new Date(daysBefore(100));
    const repo = new FakeRepository(key({ rotatedTo: 'k2', expiresAt: graceEnd, nextReminderAt: graceEnd }));
    const { reminders } = service(repo);
    assert.equal(
      await reminders.recordDue({ keyId: repo.key!._id.toHexString(), asOf: graceEnd.toISOString() }),
      'closed',
    );
    assert.deepEqual(repo.claims[0].events, []);
    assert.equal(repo.key?.status, KeyStatus.Expired);
  });

  it('never takes asOf as later than its own clock: a command from the future expires nothing', async () => {
    const repo = new FakeRepository(key());
    const { reminders } = service(repo, new Date(daysBefore(60)));
    const keyId = repo.key!._id.toHexString();
    const future = new Date(expiresAt.getTime() + 365 * DAY_MS).toISOString();
    assert.equal(await reminders.recordDue({ keyId, asOf: future }), 'not-due');
    assert.deepEqual([repo.claims.length, repo.key?.status], [0, KeyStatus.Active]);
  });

  it('skips a key that does not exist', async () => {
    const { reminders } = service(new FakeRepository(null));
    assert.equal(
      await reminders.recordDue({ keyId: new Types.ObjectId().toHexString(), asOf: daysBefore(1) }),
      'missing',
    );
    assert.equal(await reminders.recordDue({ keyId: 'not-an-id', asOf: daysBefore(1) }), 'missing');
  });
});
