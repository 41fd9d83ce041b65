import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MongooseModule } from '@nestjs/mongoose';
import { Test, TestingModule } from '@nestjs/testing';
import { isolatedEnv } from '@keyward/testing';
import { Types } from 'mongoose';
import { Key, KeySchema, KeyStatus } from './key.schema';
import { KeySnapshot, KeysRepository, snapshotOf } from './keys.repository';

const DAY = 86_400_000;
const now = new Date('2027-05-26T08:00:00.000Z');
const expiresAt = new Date('2027-05-27T08:00:00.000Z');

/** Integration: the compare-and-set conditions of the keys collection's writers, against the real stand-in. */
describe('KeysRepository compare-and-set (integration, real FerretDB)', () => {
  let moduleRef: TestingModule;
  let keys: KeysRepository;
  let n = 0;

  before(async () => {
    moduleRef = await Test.createTestingModule({
      imports: [
        MongooseModule.forRoot(isolatedEnv().mongoUri('keys-repository')),
        MongooseModule.forFeature([{ name: Key.name, schema: KeySchema }]),
      ],
      providers: [KeysRepository],
    }).compile();
    keys = moduleRef.get(KeysRepository);
    await keys.indexesReady();
  });

  after(async () => {
    await moduleRef?.close();
  });

  /** An active key whose every stage was sent: its next "reminder" is the expiry itself. */
  async function finalStageKey(): Promise<string> {
    const id = new Types.ObjectId().toHexString();
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
});
