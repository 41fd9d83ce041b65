import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { getConnectionToken, getModelToken, MongooseModule } from '@nestjs/mongoose';
import { Test, TestingModule } from '@nestjs/testing';
import { calendarBucketId, CalendarMinute, REMINDER_CALENDAR_COLLECTION } from '@keyward/contracts';
import { isolatedEnv } from '@keyward/testing';
import { Connection, Model, Types } from 'mongoose';
import { KeyStoreModule } from './key-store.module';
import { KeyStatus } from './key.schema';
import { KeySnapshot, KeysRepository, snapshotOf } from './keys.repository';
import { CALENDAR_BUCKET_CAPACITY, ReminderCalendar, ReminderCalendarMinute } from './reminder-calendar';

const DAY = 86_400_000;
const now = new Date('2027-05-26T08:00:00.000Z');
const expiresAt = new Date('2027-05-27T08:00:00.000Z');

/** Integration: the compare-and-set conditions of the keys collection's writers, against the real stand-in. */
describe('KeysRepository (integration, real FerretDB)', () => {
  let moduleRef: TestingModule;
  let keys: KeysRepository;
  let connection: Connection;
  let n = 0;

  before(async () => {
    moduleRef = await Test.createTestingModule({
      imports: [MongooseModule.forRoot(isolatedEnv().mongoUri('keys-repository')), KeyStoreModule],
    }).compile();
    keys = moduleRef.get(KeysRepository);
    connection = moduleRef.get(getConnectionToken());
    await keys.indexesReady();
  });

  after(async () => {
    await moduleRef?.close();
  });

  /** An active key whose every stage was sent: its next "reminder" is the expiry itself. */
  async function finalStageKey(id = new Types.ObjectId().toHexString()): Promise<string> {
    n++;
    await keys.insert(
      id,
      {
        owner: { userId: 'owner-1', email: 'owner@example.com', timeZone: 'Asia/Singapore' },
        hash: `hash-${id}`,
        lastFive: 'abcde',
        label: `key ${n}`,
        labelKey: `key ${n}`,
        contacts: ['ops@example.com'],
        createdAt: new Date(expiresAt.getTime() - 182 * DAY),
        expiresAt,
        status: KeyStatus.Active,
        lastUsedAt: null,
        revokedAt: null,
        legacy: false,
        rotatedTo: null,
        nextReminderAt: expiresAt,
        remindersSent: [30, 14, 7, 3, 1],
      },
      [],
      now,
    );
    return id;
  }

  const rotate = (id: string, seen: KeySnapshot) =>
    keys.markRotated(
      'owner-1',
      id,
      seen,
      // A grace period longer than the key has left: expiry and next due time stay as they were.
      { rotatedTo: 'replacement', expiresAt, status: KeyStatus.Active, nextReminderAt: expiresAt },
      [],
      now,
    );

  it('a reminder claim loses to a rotation that left expiry and due time unchanged (it checks rotatedTo)', async () => {
    const id = await finalStageKey();
    const seen = (await keys.findForReminder(id))!;
    assert.equal(await rotate(id, snapshotOf(seen)), true);
    // Had it won, the rotated-out key would have sent KeyExpired instead of closing silently.
    const claimed = await keys.claimReminder(seen, { nextReminderAt: null, status: KeyStatus.Expired }, [], now);
    assert.equal(claimed, false);
    const after = (await keys.findForReminder(id))!;
    assert.deepEqual([after.status, after.rotatedTo], [KeyStatus.Active, 'replacement']);
  });

  it('a revocation, a contacts change and a rotation lose to a reminder claim that moved nextReminderAt', async () => {
    const id = await finalStageKey();
    const seen = snapshotOf((await keys.findForReminder(id))!);
    const reminder = (await keys.findForReminder(id))!;
    assert.equal(
      await keys.claimReminder(reminder, { nextReminderAt: new Date(expiresAt.getTime() + 1) }, [], now),
      true,
    );

    assert.equal(await keys.revoke('owner-1', id, seen, { revokedAt: now }, [], now), false);
    assert.equal(await keys.replaceContacts('owner-1', id, seen, ['new@example.com'], [], now), false);
    assert.equal(await rotate(id, seen), false);

    const fresh = snapshotOf((await keys.findForReminder(id))!);
    assert.equal(await keys.revoke('owner-1', id, fresh, { revokedAt: now }, [], now), true, 'on what is there now');
  });

  it('each write wins once on what it read, and only for the owner', async () => {
    const id = await finalStageKey();
    const seen = snapshotOf((await keys.findForReminder(id))!);
    assert.equal(await keys.replaceContacts('owner-2', id, seen, ['x@example.com'], [], now), false, 'another owner');
    assert.equal(await keys.replaceContacts('owner-1', id, seen, ['x@example.com'], [], now), true);
    assert.equal(
      await keys.replaceContacts('owner-1', id, seen, ['y@example.com'], [], now),
      false,
      'contacts moved on',
    );
    const current = snapshotOf((await keys.findForReminder(id))!);
    assert.equal(await keys.recordLeak('owner-1', id, current, now, [], now), true);
    assert.equal(await keys.recordLeak('owner-1', id, current, now, [], now), false, 'a leak is recorded once');
    assert.equal(
      await keys.revoke('owner-1', id, current, { revokedAt: now, leakReportedAt: now }, [], now),
      false,
      'a leak revocation needs no leak recorded yet',
    );
  });
  /** A calendar minute's buckets as a reader finds them: in order until one is missing. */
  async function buckets(minute: string): Promise<CalendarMinute[]> {
    const found: CalendarMinute[] = [];
    for (let n = 0; ; n++) {
      const bucket = await connection
        .collection<CalendarMinute>(REMINDER_CALENDAR_COLLECTION)
        .findOne({ _id: calendarBucketId(new Date(minute), n) });
      if (!bucket) return found;
      found.push(bucket);
    }
  }
  /** The keys listed in a calendar minute, all its buckets'. */
  const listed = async (minute: string) => (await buckets(minute)).flatMap((bucket) => bucket.keyIds);

  it('lists a key in the calendar minute of each due time it is given, before writing the key', async () => {
    const id = await finalStageKey();
    // Due at the expiry, 08:00:00 exactly: its own minute.
    assert.ok((await listed('2027-05-27T08:00Z')).includes(id), 'listed when inserted');
    const seen = (await keys.findForReminder(id))!;
    const next = new Date('2027-05-27T08:00:30.000Z');
    assert.equal(await keys.claimReminder(seen, { nextReminderAt: next }, [], now), true);
    assert.ok((await listed('2027-05-27T08:01Z')).includes(id), 'a due time inside a minute goes to the minute after');

    // The write after the listing fails (here: the id exists): the entry stays, and is only stale.
    const again = new Types.ObjectId(id);
    await assert.rejects(finalStageKey(again.toHexString()), /E11000|duplicate/);
    assert.equal((await listed('2027-05-27T08:00Z')).filter((k: string) => k === id).length, 1, 'listed once');
  });

  it('lists a key due now or overdue in the next minute, which no scheduler pass has read yet', async () => {
    const id = new Types.ObjectId();
    await connection.collection('keys').insertOne({ _id: id, status: KeyStatus.Active, nextReminderAt: null });
    // Backfilled at 08:00:10 with a first reminder long past: listed in 08:02 (08:01:10, rounded up).
    assert.equal(
      await keys.scheduleReminder(id, new Date('2027-01-01T00:00:00Z'), new Date('2027-05-26T08:00:10Z')),
      true,
    );
    assert.deepEqual(await listed('2027-05-26T08:02Z'), [id.toHexString()]);
  });

  it('sweeps calendar minutes before a time, keeping the rest', async () => {
    const calendar = moduleRef.get(ReminderCalendar);
    // Earlier than any other test's minutes, so the count is this test's alone.
    const now = new Date('2026-12-01T00:00:00Z');
    await calendar.list('k1', new Date('2027-01-01T09:59:30Z'), now);
    await calendar.list('k2', new Date('2027-01-01T10:00:30Z'), now);
    assert.equal(await calendar.deleteBefore(new Date('2027-01-01T10:01:00Z')), 1);
    assert.deepEqual([await listed('2027-01-01T10:00Z'), await listed('2027-01-01T10:01Z')], [[], ['k2']]);
  });

  it('splits a busy minute into buckets of bounded size, none skipped, also when two instances list at once', async () => {
    const model = moduleRef.get<Model<ReminderCalendarMinute>>(getModelToken(ReminderCalendarMinute.name));
    // Two instances, each with its own idea of the bucket that has room.
    const instances = [new ReminderCalendar(model), new ReminderCalendar(model)];
    const dueAt = new Date('2027-06-01T10:00:00Z');
    const ids = Array.from({ length: 2 * CALENDAR_BUCKET_CAPACITY + 30 }, (_, i) => `busy-${i}`);
    const workers = Array.from({ length: 8 }, async (_, w) => {
      for (let i = w; i < ids.length; i += 8) await instances[i % 2].list(ids[i], dueAt, now);
    });
    await Promise.all(workers);
    const found = await buckets('2027-06-01T10:00Z');
    assert.ok(found.length >= 3, `${found.length} buckets for ${ids.length} keys`);
    for (const bucket of found) assert.ok(bucket.keyIds.length <= CALENDAR_BUCKET_CAPACITY, `${bucket._id} is full`);
    assert.deepEqual(found.flatMap((bucket) => bucket.keyIds).sort(), [...ids].sort(), 'each key listed once');
    const stored = await connection
      .collection(REMINDER_CALENDAR_COLLECTION)
      .countDocuments({ _id: { $gte: '2027-06-01T10:00Z', $lt: '2027-06-01T10:01Z' } as never });
    assert.equal(stored, found.length, 'a reader finds every bucket stored');
  });

  it('writes listings that arrive while their minute is being written together, each stored', async () => {
    const model = moduleRef.get<Model<ReminderCalendarMinute>>(getModelToken(ReminderCalendarMinute.name));
    let writes = 0;
    const counted = new Proxy(model, {
      get: (target, name, receiver) =>
        name === 'updateOne'
          ? (...args: Parameters<typeof model.updateOne>) => (writes++, target.updateOne(...args))
          : Reflect.get(target, name, receiver),
    });
    const calendar = new ReminderCalendar(counted);
    const ids = Array.from({ length: 45 }, (_, i) => `burst-${i}`);
    await Promise.all(ids.map((id) => calendar.list(id, new Date('2027-08-01T10:00:00Z'), now)));
    assert.deepEqual((await listed('2027-08-01T10:00Z')).sort(), [...ids].sort());
    assert.ok(writes <= 4, `${writes} writes for ${ids.length} listings at once`);
  });

  it('leaves a minute the previous version wrote (one document, no listings count) as it was, listing in the next bucket', async () => {
    const minute = '2027-07-01T10:00Z';
    const previous = Array.from({ length: CALENDAR_BUCKET_CAPACITY + 5 }, (_, i) => `old-${i}`);
    await connection
      .collection<CalendarMinute>(REMINDER_CALENDAR_COLLECTION)
      .insertOne({ _id: minute, keyIds: previous });
    await moduleRef.get(ReminderCalendar).list('new-1', new Date(minute), now);
    const found = await buckets(minute);
    assert.deepEqual(
      found.map((bucket) => bucket.keyIds),
      [previous, ['new-1']],
    );
  });
});
