import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isolatedEnv } from '@keyward/testing';
import mongoose, { Connection, Schema } from 'mongoose';
import { claimEach, claimOnce, compareAndSet, isDuplicateKeyError } from './single-writes';

const CALLERS = 8;
const ROUNDS = 20;

interface Slot {
  _id: string;
  holder: string;
  empty?: null;
  list?: string[];
}
interface Box {
  _id: string;
  state?: string;
  entries: { id: string }[];
  notes: string[];
}

/** Integration: each guarantee under concurrent callers, against the real local database. */
describe('single-document writes (integration, real stack, concurrent callers)', () => {
  let db: Connection;

  before(async () => {
    db = await mongoose.createConnection(isolatedEnv().mongoUri('single_writes')).asPromise();
  });

  after(async () => {
    await db?.dropDatabase();
    await db?.close();
  });

  it('claimOnce: of racing callers exactly one claims a key, and the document keeps null and [] fields', async () => {
    const slots = db.collection<Slot>('slots');
    for (let round = 0; round < ROUNDS; round++) {
      const wins = await Promise.all(
        Array.from({ length: CALLERS }, (_, i) =>
          claimOnce(slots, { _id: `r${round}`, holder: `c${i}`, empty: null, list: [] }),
        ),
      );
      assert.equal(wins.filter(Boolean).length, 1, `round ${round}: ${JSON.stringify(wins)}`);
      const stored = await slots.findOne({ _id: `r${round}` });
      assert.equal(stored?.holder, `c${wins.indexOf(true)}`, 'the winner is the one stored');
      assert.deepEqual([stored?.empty, stored?.list], [null, []]);
    }
    assert.equal(await claimOnce(slots, { _id: 'r0', holder: 'late' }), false, 'a key claimed before stays taken');
  });

  it('claimOnce on a model: schema casting applies and the claim still has one winner', async () => {
    const Lease = db.model('Lease', new Schema({ _id: String, at: Date }, { versionKey: false }));
    const wins = await Promise.all(
      Array.from({ length: CALLERS }, () => claimOnce(Lease, { _id: 'one', at: '2026-11-29T00:00:00Z' })),
    );
    assert.equal(wins.filter(Boolean).length, 1);
    assert.ok((await Lease.findById('one').lean())?.at instanceof Date, 'the string was cast to a date');
  });

  it('claimEach: racing batches over the same keys claim each key exactly once, and tell which', async () => {
    const leases = db.collection<Slot>('leases');
    for (let round = 0; round < ROUNDS / 2; round++) {
      const ids = Array.from({ length: 5 }, (_, k) => `r${round}k${k}`);
      const results = await Promise.all(
        Array.from({ length: CALLERS }, (_, i) =>
          claimEach(
            leases,
            ids.map((_id) => ({ _id, holder: `c${i}` })),
          ),
        ),
      );
      for (const [k, _id] of ids.entries()) {
        const winners = results.flatMap((claimed, i) => (claimed[k] ? [`c${i}`] : []));
        assert.equal(winners.length, 1, `round ${round}, ${_id}: ${winners.join()}`);
        assert.equal((await leases.findOne({ _id }))?.holder, winners[0]);
      }
    }
  });

  it('compareAndSet: of racing callers that read the same value exactly one changes it', async () => {
    const boxes = db.collection<Box>('boxes');
    for (let round = 0; round < ROUNDS; round++) {
      await boxes.insertOne({ _id: `r${round}`, state: 'free', entries: [], notes: [] });
      const wins = await Promise.all(
        Array.from({ length: CALLERS }, (_, i) =>
          compareAndSet(boxes, { _id: `r${round}`, state: 'free' }, { $set: { state: `taken by c${i}` } }),
        ),
      );
      assert.equal(wins.filter(Boolean).length, 1, `round ${round}: ${JSON.stringify(wins)}`);
      assert.equal((await boxes.findOne({ _id: `r${round}` }))?.state, `taken by c${wins.indexOf(true)}`);
    }
  });

  it('compareAndSet on a whole array of embedded documents never loses a concurrent append', async () => {
    const boxes = db.collection<Box>('outboxes');
    for (let round = 0; round < ROUNDS; round++) {
      const _id = `r${round}`;
      const seen = [{ id: 'a' }, { id: 'b' }];
      await boxes.insertOne({ _id, entries: seen, notes: [] });
      // The relay removes what it published while a writer appends a new entry and another field.
      const [removed] = await Promise.all([
        compareAndSet(boxes, { _id, entries: seen }, { $set: { entries: [] } }),
        boxes.updateOne({ _id }, { $push: { entries: { id: 'c' } } }),
        boxes.updateOne({ _id }, { $push: { notes: 'changed' } }),
      ]);
      const stored = await boxes.findOne({ _id });
      assert.deepEqual(stored?.notes, ['changed'], `round ${round}: no write is lost`);
      // Either the removal went first (only the new entry is left) or it found the array changed.
      assert.deepEqual(
        stored?.entries.map((e) => e.id),
        removed ? ['c'] : ['a', 'b', 'c'],
        `round ${round}`,
      );
    }
  });

  it('isDuplicateKeyError knows the server’s refusal and nothing else', async () => {
    const slots = db.collection<Slot>('duplicates');
    await slots.insertOne({ _id: 'x', holder: 'first' });
    const refusal = await slots.insertOne({ _id: 'x', holder: 'second' }).catch((error: unknown) => error);
    assert.equal(isDuplicateKeyError(refusal), true);
    assert.equal(isDuplicateKeyError(new Error('E11000 in a message only')), false);
    assert.equal(isDuplicateKeyError(null), false);
  });
});
