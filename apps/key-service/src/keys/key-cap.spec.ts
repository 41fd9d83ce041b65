import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConflictException } from '@nestjs/common';
import { Connection } from 'mongoose';
import { KeyServiceSettings } from '../config/key-service.env';
import { KeyCap } from './key-cap';
import { KeysRepository } from './keys.repository';

/** The lease collection and the key count, as KeyCap sees them, counting the round trips it makes. */
function capWith(maxActive: number, active: number) {
  const calls = { leasesTaken: 0, leasesReleased: 0, counts: 0 };
  const leases = {
    updateOne: async () => void calls.leasesTaken++,
    deleteOne: async () => void calls.leasesReleased++,
  };
  const keys = {
    countActive: async () => {
      calls.counts++;
      return active;
    },
  };
  const cap = new KeyCap(
    { collection: () => leases } as unknown as Connection,
    keys as unknown as KeysRepository,
    { KEY_MAX_ACTIVE_PER_OWNER: maxActive } as KeyServiceSettings,
  );
  /** One request adding a key; `active` grows when it commits, as the keys collection would. */
  const add = (replacing: 0 | 1 = 0, fail = false) =>
    cap.withRoom('owner-1', replacing, new Date(), async (assertHeld) => {
      await new Promise((resolve) => setImmediate(resolve));
      assertHeld();
      if (fail) throw new Error('the write failed');
      active++;
      return 'added';
    });
  return { calls, add, active: () => active };
}

const outcomes = (settled: PromiseSettledResult<string>[]) =>
  settled.map((s) => (s.status === 'fulfilled' ? s.value : (s.reason as Error).constructor.name));

describe('key cap', () => {
  it('lets a burst of one account’s requests share one lease and one count', async () => {
    const { calls, add, active } = capWith(20, 2);
    const settled = await Promise.allSettled(Array.from({ length: 5 }, () => add()));
    assert.deepEqual(outcomes(settled), Array(5).fill('added'));
    assert.equal(active(), 7);
    assert.deepEqual(calls, { leasesTaken: 1, leasesReleased: 1, counts: 1 });
  });

  it('holds the limit within a burst, counting the keys the burst itself created', async () => {
    const { calls, add, active } = capWith(10, 8);
    const settled = await Promise.allSettled(Array.from({ length: 4 }, () => add()));
    assert.deepEqual(outcomes(settled), ['added', 'added', ConflictException.name, ConflictException.name]);
    assert.equal(active(), 10);
    assert.equal(calls.leasesTaken, 1);
  });

  it('counts again after a failed request and after a rotation, whose old key may have ended', async () => {
    const { calls, add } = capWith(20, 0);
    const settled = await Promise.allSettled([add(), add(0, true), add(), add(1), add()]);
    assert.deepEqual(outcomes(settled), ['added', 'Error', 'added', 'added', 'added']);
    assert.equal(calls.counts, 3, 'first, after the failure, after the rotation');
    assert.equal(calls.leasesTaken, 1);
  });

  it('releases the lease as soon as nobody waits for it', async () => {
    const { calls, add } = capWith(20, 0);
    await add();
    await add();
    assert.deepEqual(calls, { leasesTaken: 2, leasesReleased: 2, counts: 2 });
  });
});
