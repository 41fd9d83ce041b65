import { FilterQuery, Model, mongo, UpdateQuery } from 'mongoose';

/**
 * The few single-document writes keyward builds its guarantees on, each named for what it
 * guarantees and held to it on every server keyward runs on: MongoDB, and locally FerretDB v1
 * behind its one-command-at-a-time proxy (docs/stack.md lists what the stand-in lacks). Features
 * use these or plain documented operations; nothing else in the code knows which server answers.
 */

/** A mongoose model (schema casting and defaults apply) or a raw collection, of any document type. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Target = Model<any> | mongo.Collection<any>;

const isModel = (target: Target): target is Model<unknown> => typeof (target as Model<unknown>).create === 'function';

/** MongoDB's duplicate-key error (E11000): a unique index refused the write. */
const DUPLICATE_KEY = 11000;

/**
 * A unique index refused the write. The error does not reliably say which index (the stand-in's
 * does not name it): where a collection has several, look the claim up to tell.
 */
export function isDuplicateKeyError(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === DUPLICATE_KEY;
}

/**
 * Inserts `doc` as a claim on its unique key: true for the one caller whose insert went in, false
 * for every other (the key was taken, now or before). An insert under a unique index has exactly
 * one winner on every server, which a conditional update on bare FerretDB does not; and the
 * document is written whole (an upsert's `$setOnInsert` drops `null` and `[]` fields there).
 */
export async function claimOnce<T extends object>(target: Target, doc: T): Promise<boolean> {
  try {
    if (isModel(target)) await target.create(doc);
    else await (target as mongo.Collection).insertOne(doc);
    return true;
  } catch (error) {
    if (isDuplicateKeyError(error)) return false;
    throw error;
  }
}

/** claimOnce for each of `docs` in one round trip; which of them this caller claimed, in order. */
export async function claimEach<T extends object>(target: Target, docs: T[]): Promise<boolean[]> {
  if (docs.length === 0) return [];
  try {
    if (isModel(target)) await target.insertMany(docs, { ordered: false });
    else await (target as mongo.Collection).insertMany(docs, { ordered: false });
    return docs.map(() => true);
  } catch (error) {
    if (!(error instanceof mongo.MongoBulkWriteError)) throw error;
    // mongoose (ordered: false) hands back `{ err, index }` in place of the driver's WriteError.
    const errors = [error.writeErrors].flat() as { code?: number; err?: { code?: number }; index: number }[];
    if (errors.some((e) => (e.code ?? e.err?.code) !== DUPLICATE_KEY)) throw error;
    const taken = new Set(errors.map((e) => e.index));
    return docs.map((_, i) => !taken.has(i));
  }
}

/**
 * Applies `update` to the one document `expected` matches, only while it still holds every value
 * `expected` names (a whole array or embedded document compares whole); true when it did, and
 * then no concurrent compareAndSet that read the same values did. Match whole values rather than
 * `$pull` with a condition on embedded documents, which the stand-in silently ignores.
 */
export async function compareAndSet<T>(
  target: Target,
  expected: FilterQuery<T>,
  update: UpdateQuery<T>,
): Promise<boolean> {
  const { matchedCount } = isModel(target)
    ? await target.updateOne(expected, update).exec()
    : await target.updateOne(expected as mongo.Filter<mongo.Document>, update as mongo.UpdateFilter<mongo.Document>);
  return matchedCount === 1;
}
