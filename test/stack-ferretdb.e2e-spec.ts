import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import mongoose from 'mongoose';
import { FerretDbServer } from './support/ferretdb-server';

interface Doc {
  _id: string;
  n: number;
  tag?: string;
}

/**
 * The local stand-in's `_id` patch (tools/stack/ferretdb/id-index.patch): a filter with an `_id`
 * equality reads that one row by the `_id` index, also beside other conditions, and those
 * conditions still decide whether the document matches.
 */
describe('FerretDB serves filters with an _id equality from its _id index', () => {
  // A server of its own: the shared one may run an older build until it is restarted.
  let database: FerretDbServer;
  let db: mongoose.Connection;
  const docs = () => db.collection<Doc>('docs');

  before(async () => {
    database = await FerretDbServer.start();
    db = await mongoose.createConnection(database.uri('id-lookups')).asPromise();
    await docs().insertMany(Array.from({ length: 50 }, (_, i) => ({ _id: `d${i}`, n: i })));
  });

  after(async () => {
    await db?.close();
    await database?.stop();
  });

  const explainFind = async (filter: object) =>
    (await db.db!.command({ explain: { find: 'docs', filter } })) as {
      filterPushdown?: boolean;
      queryPlanner?: { Plan?: string[] } & Record<string, unknown>;
    };

  for (const [name, filter] of [
    ['alone', { _id: 'd7' }],
    ['beside other conditions', { _id: 'd7', n: { $lte: 10 }, tag: null }],
  ] as const) {
    it(`pushes the _id equality down to the index (${name})`, async () => {
      const explained = await explainFind(filter);
      assert.equal(explained.filterPushdown, true, JSON.stringify(explained));
      assert.match(JSON.stringify(explained.queryPlanner), /SEARCH .*USING INDEX/, 'an index search, not a scan');
    });
  }

  it('leaves a filter without an _id equality to a scan', async () => {
    const explained = await explainFind({ _id: { $in: ['d1', 'd2'] }, n: 1 });
    assert.equal(explained.filterPushdown, false, JSON.stringify(explained));
  });

  it('still applies the other conditions: reads, conditional updates and deletes match only when they hold', async () => {
    assert.equal((await docs().findOne({ _id: 'd7', n: 7 }))?._id, 'd7');
    assert.equal(await docs().findOne({ _id: 'd7', n: 8 }), null);
    assert.equal(await docs().countDocuments({ _id: 'd7', n: { $gt: 7 } }), 0);

    assert.equal(await docs().findOneAndUpdate({ _id: 'd8', n: { $lte: 5 } }, { $set: { tag: 'x' } }), null);
    const updated = await docs().findOneAndUpdate(
      { _id: 'd3', n: { $lte: 5 } },
      { $set: { tag: 'x' } },
      { returnDocument: 'after' },
    );
    assert.equal(updated?.tag, 'x');
    assert.equal((await docs().updateOne({ _id: 'd9', tag: 'x' }, { $set: { n: 0 } })).modifiedCount, 0);
    assert.equal((await docs().findOne({ _id: 'd8' }))?.tag, undefined, 'the unmatched update wrote nothing');

    assert.equal((await docs().deleteOne({ _id: 'd10', n: 11 })).deletedCount, 0);
    assert.equal((await docs().deleteOne({ _id: 'd10', n: 10 })).deletedCount, 1);
    assert.equal(await docs().countDocuments(), 49);
  });
});
