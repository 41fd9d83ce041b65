import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KeyServiceSettings } from '../config/key-service.env';
import { KeyHasher } from '../hashing/key-hasher';
import { KeyCap } from '../keys/key-cap';
import { Key } from '../keys/key.schema';
import { KeysRepository } from '../keys/keys.repository';
import { UsersRepository } from '../users/users.repository';
import { UserDocument } from '../users/user.schema';
import { LegacyEntry, LegacyFileError } from './legacy-file';
import { LegacyImportService } from './legacy-import.service';

const config = {
  KEY_HASH_SECRET: 'x'.repeat(32),
  REMINDER_STAGES_DAYS: [30, 14, 7, 3, 1],
} as unknown as KeyServiceSettings;
const hasher = new KeyHasher(config);

/**
 * Fakes for the two repositories (an in-memory keys collection with its two unique indexes) and
 * the cap, which hears of keys added outside it: `writes` has both, in order.
 */
function setUp() {
  const stored: Omit<Key, 'outbox' | 'outboxAt'>[] = [];
  const writes: string[] = [];
  const users = {
    findOrCreate: async (email: string) =>
      ({ id: `user-${email}`, email, timeZone: 'Asia/Singapore' }) as unknown as UserDocument,
  } as unknown as UsersRepository;
  const keys = {
    indexesReady: async () => undefined,
    insertUnlessHashExists: async (key: Omit<Key, 'outbox' | 'outboxAt'>) => {
      if (stored.some((k) => k.hash === key.hash)) return null;
      if (stored.some((k) => k.owner.userId === key.owner.userId && k.labelKey === key.labelKey)) {
        throw Object.assign(new Error('E11000'), { code: 11000 });
      }
      stored.push(key);
      writes.push(`key of ${key.owner.userId}`);
      return `key-${stored.length}`;
    },
  } as unknown as KeysRepository;
  const cap = { keysAddedElsewhere: async (ownerId: string) => void writes.push(`bound of ${ownerId} voided`) };
  return { stored, writes, service: new LegacyImportService(users, keys, cap as unknown as KeyCap, hasher, config) };
}

const entry = (email: string, key: string): LegacyEntry => ({ email, key, contacts: [] });

describe('legacy import', () => {
  it('stores an already-expired legacy key as expired, with no reminder to send', async () => {
    const { stored, service } = setUp();
    const summary = await service.import(
      [entry('a@x.io', 'legacy-key-aaaaaaaaaaaa')],
      new Date('2026-11-27T00:00:00Z'),
    );
    assert.deepEqual(summary, { imported: 1, alreadyImported: 0, skipped: [] });
    assert.equal(stored[0].status, 'expired');
    assert.equal(stored[0].nextReminderAt, null);
    assert.equal(stored[0].hash, hasher.hash('legacy-key-aaaaaaaaaaaa'));
    assert.equal(stored[0].label, 'default');
    assert.equal(stored[0].lastFive, '*****');
  });

  it('stores a legacy key imported before its expiry as active, with its first reminder scheduled', async () => {
    const { stored, service } = setUp();
    await service.import([entry('a@x.io', 'legacy-key-aaaaaaaaaaaa')], new Date('2024-03-01T00:00:00Z'));
    assert.equal(stored[0].status, 'active');
    // 30 days before 2024-04-21T00:00Z (08:00 GMT+8).
    assert.equal(stored[0].nextReminderAt?.toISOString(), '2024-03-22T00:00:00.000Z');
  });

  it('voids the cap’s bound of each account it adds a working key to, after the write, and again on a re-run', async () => {
    const { writes, service } = setUp();
    const now = new Date('2024-03-01T00:00:00Z');
    await service.import([entry('a@x.io', 'legacy-key-aaaaaaaaaaaa')], now);
    await service.import([entry('a@x.io', 'legacy-key-aaaaaaaaaaaa')], now);
    assert.deepEqual(writes, ['key of user-a@x.io', 'bound of user-a@x.io voided', 'bound of user-a@x.io voided']);
  });

  it('leaves the cap’s bound alone for a key that no longer works', async () => {
    const { writes, service } = setUp();
    await service.import([entry('a@x.io', 'legacy-key-aaaaaaaaaaaa')], new Date('2026-11-27T00:00:00Z'));
    assert.deepEqual(writes, ['key of user-a@x.io']);
  });

  it('counts keys already imported, and skips a second key for an account that has a default one', async () => {
    const { stored, service } = setUp();
    const now = new Date('2026-11-27T00:00:00Z');
    await service.import([entry('a@x.io', 'legacy-key-aaaaaaaaaaaa')], now);
    const summary = await service.import(
      [entry('a@x.io', 'legacy-key-aaaaaaaaaaaa'), entry('a@x.io', 'legacy-key-bbbbbbbbbbbb')],
      now,
    );
    assert.equal(summary.imported, 0);
    assert.equal(summary.alreadyImported, 1);
    assert.deepEqual(
      summary.skipped.map((s) => [s.entry, s.email]),
      [[1, 'a@x.io']],
    );
    assert.equal(stored.length, 1);
  });

  it('refuses the whole file when a key and its given hash disagree, writing nothing', async () => {
    const { stored, service } = setUp();
    const good = entry('a@x.io', 'legacy-key-aaaaaaaaaaaa');
    const bad = { ...entry('b@x.io', 'legacy-key-bbbbbbbbbbbb'), keyHash: hasher.hash('something else') };
    await assert.rejects(
      service.import([good, bad]),
      (e: unknown) => e instanceof LegacyFileError && /entries 1 /.test(e.message),
    );
    assert.equal(stored.length, 0);
  });
});
