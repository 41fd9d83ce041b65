import { Model } from 'mongoose';
import { OutboxEntry, OutboxFields } from './outbox-entry.schema';

/** A document whose events the relay has leased, as read (whole: a follow-up may read its other fields). */
export type LeasedDocument = OutboxFields & { _id: unknown } & Record<string, unknown>;

/** A write to one document's outbox fields, made only while the document still holds `expected`. */
export interface OutboxChange {
  _id: unknown;
  expected: Partial<OutboxFields>;
  set: Partial<OutboxFields>;
}

/**
 * What the outbox relay needs of a collection whose documents carry an outbox. The repository that
 * owns the collection exposes one (a CollectionOutbox over its own model, below), so every write to
 * the collection stays in that repository; the relay holds no model and only decides what to
 * lease, publish and remove.
 */
export interface OutboxStore {
  /**
   * Leases one document whose events have been due since `dueBy` and are not leased (the one with
   * this `_id` when given, else the oldest) by moving its `outboxAt` to `until`, in one conditional
   * write: of relays racing for a document, one wins. Null when there is none.
   */
  leaseOutbox(dueBy: Date, until: Date, _id?: unknown): Promise<LeasedDocument | null>;
  /** Makes these changes in one command (at most MAX_UPDATES_PER_COMMAND); how many documents matched. */
  changeOutboxes(changes: OutboxChange[]): Promise<number>;
  /** A document's outbox and its `outboxAt` (a relay's lease, when in the future) as they are now; undefined when the document is gone. */
  outboxOf(_id: unknown): Promise<Required<OutboxFields> | undefined>;
  /** The outboxes of up to `limit` documents whose events wait (for the backlog gauges). */
  waitingOutboxes(limit: number): Promise<OutboxEntry[][]>;
}

/**
 * OutboxStore over one model: one definition of each query, whichever collection it runs on. The
 * repository that owns the collection holds one (`outbox`), so its writes stay in that repository.
 */
export class CollectionOutbox<T extends OutboxFields> implements OutboxStore {
  constructor(private readonly documents: Model<T>) {}

  leaseOutbox(dueBy: Date, until: Date, _id?: unknown): Promise<LeasedDocument | null> {
    return this.documents
      .findOneAndUpdate(
        { ...(_id === undefined ? {} : { _id }), outboxAt: { $lte: dueBy } } as object,
        { $set: { outboxAt: until } },
        { new: true, sort: { outboxAt: 1 } },
      )
      .lean<LeasedDocument>()
      .exec();
  }

  /** Compare-and-set on the whole values named (an outbox array compares whole, see compareAndSet in libs/mongo), straight to the driver, values as read. */
  async changeOutboxes(changes: OutboxChange[]): Promise<number> {
    if (changes.length === 0) return 0;
    const result = await this.documents.collection.bulkWrite(
      changes.map(({ _id, expected, set }) => ({
        updateOne: { filter: { ...expected, _id } as object, update: { $set: set } },
      })),
      { ordered: false },
    );
    return result.matchedCount;
  }

  /** By `_id` alone (see docs/stack.md). */
  async outboxOf(_id: unknown): Promise<Required<OutboxFields> | undefined> {
    const doc = await this.documents.collection.findOne({ _id } as object, { projection: { outbox: 1, outboxAt: 1 } });
    return doc
      ? { outbox: doc.outbox as OutboxEntry[], outboxAt: (doc.outboxAt as Date | undefined) ?? null }
      : undefined;
  }

  async waitingOutboxes(limit: number): Promise<OutboxEntry[][]> {
    const waiting = await this.documents
      .find({ outboxAt: { $ne: null } }, { outbox: 1 })
      .limit(limit)
      .lean();
    return waiting.map((doc) => doc.outbox);
  }
}
