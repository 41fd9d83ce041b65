import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it, mock } from 'node:test';
import { ConflictException } from '@nestjs/common';
import { getConnectionToken, MongooseModule } from '@nestjs/mongoose';
import { Test } from '@nestjs/testing';
import { isolatedEnv } from '@keyward/testing';
import { Connection, Types } from 'mongoose';
import { KeyServiceSettings } from '../config/key-service.env';
import { KeyCap } from './key-cap';
import { KeyStoreModule } from './key-store.module';
import { Key, KeyStatus } from './key.schema';
import { KeysRepository } from './keys.repository';
import { keyDocument } from '../../../../test/support/key-documents';

const MAX_ACTIVE = 4;
const DAY = 86_400_000;

/** One key-service instance's cap: its own module and connection, on the database all instances share. */
async function instance(mongoUri: string) {
  const moduleRef = await Test.createTestingModule({
    imports: [MongooseModule.forRoot(mongoUri, { monitorCommands: true }), KeyStoreModule],
    providers: [KeyCap, { provide: KeyServiceSettings, useValue: { KEY_MAX_ACTIVE_PER_OWNER: MAX_ACTIVE } }],
  }).compile();
  const keys = moduleRef.get(KeysRepository);
  const counted = mock.method(keys, 'countActive');
  return {
    moduleRef,
    cap: moduleRef.get(KeyCap),
    keys,
    counted,
    connection: moduleRef.get<Connection>(getConnectionToken()),
  };
}

/** A `key_cap_leases` document as stored (the previous version's have neither bound nor boundBy). */
interface StoredLease {
  _id: string;
  holder: string;
  until: Date;
  bound?: number;
  boundBy?: string;
}

const outcomes = (settled: PromiseSettledResult<string>[]) =>
  settled.map((s) => (s.status === 'fulfilled' ? s.value : (s.reason as Error).constructor.name));

/** Integration: the cap's lease and bound in `key_cap_leases`, against the real stand-in, two instances on one database. */
describe('key cap (integration, real FerretDB)', () => {
  let a: Awaited<ReturnType<typeof instance>>;
  let b: Awaited<ReturnType<typeof instance>>;

  before(async () => {
    const mongoUri = isolatedEnv().mongoUri('key-cap');
    [a, b] = [await instance(mongoUri), await instance(mongoUri)];
    await a.keys.indexesReady();
  });

  after(async () => {
    await a?.moduleRef.close();
    await b?.moduleRef.close();
  });

  const newOwner = () => `owner-${randomUUID()}`;
  const leases = () => a.connection.collection<StoredLease>('key_cap_leases');
  const keysOf = (ownerId: string) => a.connection.collection('keys').find({ 'owner.userId': ownerId }).toArray();
  /** How many times either instance counted this owner's keys. */
  const counts = (ownerId: string) =>
    [...a.counted.mock.calls, ...b.counted.mock.calls].filter((call) => call.arguments[0] === ownerId).length;

  /** A working key, as any writer would store it (unless `as` says otherwise). */
  async function storeKey(
    ownerId: string,
    as: Partial<Key> = {},
    id = new Types.ObjectId().toHexString(),
  ): Promise<string> {
    const now = new Date();
    const key = keyDocument({
      _id: new Types.ObjectId(id),
      owner: { userId: ownerId, email: 'owner@example.com', timeZone: 'UTC' },
      createdAt: now,
      expiresAt: new Date(now.getTime() + 30 * DAY),
      ...as,
    });
    // insert() writes the outbox itself.
    await a.keys.insert(id, key, [], now);
    return id;
  }

  async function revokeOne(ownerId: string): Promise<void> {
    const key = await a.connection.collection('keys').findOne({ 'owner.userId': ownerId, status: KeyStatus.Active });
    await a.connection.collection('keys').updateOne({ _id: key!._id }, { $set: { status: KeyStatus.Revoked } });
  }

  /** A create through `cap`: stores its key right after checking that it still holds the lease. */
  const create = (cap: KeyCap, ownerId: string, then?: () => Promise<void>) =>
    cap.withRoom(ownerId, 0, new Date(), async (assertHeld) => {
      assertHeld();
      await storeKey(ownerId);
      await then?.();
      return 'added';
    });

  /** The commands instance a sends while `work` runs, as "command collection". */
  async function commandsDuring(work: () => Promise<unknown>): Promise<string[]> {
    const commands: string[] = [];
    const record = (event: { commandName: string; command: Record<string, unknown> }) =>
      commands.push(`${event.commandName} ${String(event.command[event.commandName])}`);
    a.connection.getClient().on('commandStarted', record);
    try {
      await work();
    } finally {
      a.connection.getClient().off('commandStarted', record);
    }
    return commands;
  }

  it('leaves a bound on release, so the next creation takes the lease back without counting', async () => {
    const ownerId = newOwner();
    await create(a.cap, ownerId);
    const commands = await commandsDuring(() => create(a.cap, ownerId));
    // The lease taken (reading the bound) and released (writing it); no count; the key's own insert.
    assert.deepEqual(commands, ['findAndModify key_cap_leases', 'insert keys', 'update key_cap_leases']);
    assert.equal(counts(ownerId), 1, 'only the first creation, on an account with no lease, counted');
    const lease = await leases().findOne({ _id: ownerId });
    assert.ok(lease && lease.until <= new Date(), 'released: lapsed');
    assert.equal(lease.bound, 2);
    assert.equal(lease.boundBy, lease.holder);
  });

  it('lets a burst of one account’s requests on one instance share one lease', async () => {
    const ownerId = newOwner();
    await create(a.cap, ownerId);
    const commands = await commandsDuring(() => Promise.all([1, 2, 3].map(() => create(a.cap, ownerId))));
    assert.deepEqual(commands, [
      'findAndModify key_cap_leases',
      ...Array(3).fill('insert keys'),
      'update key_cap_leases',
    ]);
    assert.equal((await leases().findOne({ _id: ownerId }))?.bound, 4);
  });

  it('lets a rotation at the limit through without counting, and raises the bound by one', async () => {
    const ownerId = newOwner();
    for (let i = 0; i < MAX_ACTIVE; i++) await create(a.cap, ownerId);
    const rotated = await a.cap.withRoom(ownerId, 1, new Date(), async (assertHeld) => {
      assertHeld();
      await storeKey(ownerId);
      return 'rotated';
    });
    assert.equal(rotated, 'rotated');
    assert.equal(counts(ownerId), 1);
    // The replaced key may work on through its grace period.
    assert.equal((await leases().findOne({ _id: ownerId }))?.bound, MAX_ACTIVE + 1);
  });

  it('counts when the bound reaches the limit, and lets a creation through after a revocation', async () => {
    const ownerId = newOwner();
    for (let i = 0; i < MAX_ACTIVE; i++) await create(i % 2 ? a.cap : b.cap, ownerId);
    assert.equal(counts(ownerId), 1);
    await revokeOne(ownerId);
    assert.equal(await create(b.cap, ownerId), 'added', 'the bound said 4; the count found 3');
    assert.equal(counts(ownerId), 2);
    await assert.rejects(create(a.cap, ownerId), ConflictException);
    assert.equal(counts(ownerId), 3, 'a refusal only on a count');
    assert.equal((await keysOf(ownerId)).filter((k) => k.status === KeyStatus.Active).length, MAX_ACTIVE);
  });

  it('holds the limit under concurrent creates from two instances, before and after revocations', async () => {
    const ownerId = newOwner();
    await storeKey(ownerId);
    const first = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) => create(i % 2 ? a.cap : b.cap, ownerId)),
    );
    assert.deepEqual(outcomes(first).sort(), [...Array(7).fill(ConflictException.name), ...Array(3).fill('added')]);
    await revokeOne(ownerId);
    await revokeOne(ownerId);
    const second = await Promise.allSettled(
      Array.from({ length: 6 }, (_, i) => create(i % 2 ? a.cap : b.cap, ownerId)),
    );
    assert.deepEqual(outcomes(second).sort(), [...Array(4).fill(ConflictException.name), ...Array(2).fill('added')]);
    assert.equal((await keysOf(ownerId)).filter((k) => k.status === KeyStatus.Active).length, MAX_ACTIVE);
  });

  it('refuses only on a count, also behind a refusal in line, and leaves that count as the bound', async () => {
    const ownerId = newOwner();
    for (let i = 0; i < MAX_ACTIVE - 1; i++) await storeKey(ownerId);
    const settled = await Promise.allSettled(Array.from({ length: 3 }, () => create(a.cap, ownerId)));
    assert.deepEqual(outcomes(settled), ['added', ConflictException.name, ConflictException.name]);
    assert.equal(counts(ownerId), 3, 'a count without a bound, then one per refusal (a revocation may free a slot)');
    assert.equal((await leases().findOne({ _id: ownerId }))?.bound, MAX_ACTIVE);
  });

  it('counts on a lease the previous version left, which carries no bound', async () => {
    const ownerId = newOwner();
    for (let i = 0; i < MAX_ACTIVE; i++) await storeKey(ownerId);
    await leases().insertOne({ _id: ownerId, holder: randomUUID(), until: new Date(Date.now() - 1_000) });
    await assert.rejects(create(a.cap, ownerId), ConflictException);
    assert.equal(counts(ownerId), 1);
  });

  it('does not believe a bound once a holder took the lease and stopped without releasing it', async () => {
    // This version wrote bound 1; then a holder (the previous version, or a crashed one) took the
    // lease, added keys, and never released it: its name, not the bound's writer, is in `holder`.
    const ownerId = newOwner();
    for (let i = 0; i < MAX_ACTIVE; i++) await storeKey(ownerId);
    const writer = randomUUID();
    await leases().insertOne({
      _id: ownerId,
      holder: randomUUID(),
      until: new Date(Date.now() - 1_000),
      bound: 1,
      boundBy: writer,
    });
    await assert.rejects(create(a.cap, ownerId), ConflictException);
    assert.equal(counts(ownerId), 1);
  });

  it('believes a bound its writer released, whichever instance reads it', async () => {
    const ownerId = newOwner();
    const writer = randomUUID();
    await leases().insertOne({ _id: ownerId, holder: writer, until: new Date(0), bound: 1, boundBy: writer });
    assert.equal(await create(b.cap, ownerId), 'added');
    assert.equal(counts(ownerId), 0);
  });

  it('counts after keys were added elsewhere while nobody held the lease', async () => {
    const ownerId = newOwner();
    await create(a.cap, ownerId);
    // Made working outside the cap (an import, a rotation's replacement activated by the relay), then reported.
    for (let i = 1; i < MAX_ACTIVE; i++) await storeKey(ownerId);
    await b.cap.keysAddedElsewhere(ownerId);
    await assert.rejects(create(a.cap, ownerId), ConflictException, 'the bound said 1; the count found 4');
    assert.equal(counts(ownerId), 2);
  });

  it('leaves no bound when keys were added elsewhere while it held the lease', async () => {
    const ownerId = newOwner();
    await create(a.cap, ownerId);
    await create(a.cap, ownerId);
    await create(a.cap, ownerId, async () => {
      await storeKey(ownerId);
      await b.cap.keysAddedElsewhere(ownerId);
    });
    assert.equal(counts(ownerId), 1);
    await assert.rejects(create(b.cap, ownerId), ConflictException, 'its bound would have said 3; the count found 4');
    assert.equal(counts(ownerId), 2);
  });

  it('counts the replacement of a rotation that committed but stopped before activating it', async () => {
    // A rotation (grace 0) committed, its old key ended and marked rotated, and its request stopped
    // before activating the replacement: the outbox relay activates it once it publishes KeyRotated.
    const ownerId = newOwner();
    for (let i = 0; i < MAX_ACTIVE - 1; i++) await storeKey(ownerId);
    const replacement = new Types.ObjectId().toHexString();
    const old = await storeKey(ownerId, { status: KeyStatus.Expired, rotatedTo: replacement });
    await storeKey(ownerId, { status: KeyStatus.Pending, replaces: old }, replacement);
    await assert.rejects(create(a.cap, ownerId), ConflictException, 'its replacement takes the last slot');
    // A replacement whose rotation never committed (no old key points to it) is nobody's key.
    await a.connection.collection('keys').updateOne({ _id: new Types.ObjectId(old) }, { $set: { rotatedTo: null } });
    assert.equal(await create(a.cap, ownerId), 'added');
  });

  it('voids the bound when its lease ran out under a write that landed after another holder counted', async () => {
    const ownerId = newOwner();
    for (let i = 0; i < MAX_ACTIVE - 2; i++) await storeKey(ownerId);
    await a.cap.withRoom(ownerId, 0, new Date(), async (assertHeld) => {
      assertHeld();
      // Its write is slow past the lease's end: another instance takes the lease, counts 2, adds its key.
      await leases().updateOne({ _id: ownerId }, { $set: { until: new Date(Date.now() - 1_000) } });
      assert.equal(await create(b.cap, ownerId), 'added');
      await storeKey(ownerId);
    });
    await assert.rejects(create(b.cap, ownerId), ConflictException, 'the bound said 3; the count found 4');
    assert.equal((await keysOf(ownerId)).filter((k) => k.status === KeyStatus.Active).length, MAX_ACTIVE);
  });

  it('counts again after a change that failed, which may have written its key', async () => {
    const ownerId = newOwner();
    await create(a.cap, ownerId);
    await assert.rejects(
      create(a.cap, ownerId, async () => {
        throw new Error('the response failed after the write');
      }),
    );
    await create(a.cap, ownerId);
    assert.equal(counts(ownerId), 2);
    assert.equal((await leases().findOne({ _id: ownerId }))?.bound, 3);
  });
});
