import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { isDuplicateKeyError } from '@keyward/mongo';
import { Model, Types } from 'mongoose';
import { appendToOutbox } from '../outbox/outbox';
import { OutboxEntry } from '../outbox/outbox-entry.schema';
import { Key, KeyDocument, KeyStatus, LeakResponse } from './key.schema';

/** The fields of a key an update may expect unchanged, so the event it appends describes what was there. */
type Expected = Pick<Key, 'contacts' | 'status' | 'expiresAt'>;

/** The keys collection. key-service is its only writer. */
@Injectable()
export class KeysRepository {
  constructor(@InjectModel(Key.name) private readonly keys: Model<Key>) {}

  /** Resolves once the collection's indexes exist (the unique ones are what make imports idempotent). */
  async indexesReady(): Promise<void> {
    await this.keys.init();
  }

  /** Inserts a key together with its first events (one atomic document write). */
  async insert(
    id: string,
    key: Omit<Key, 'outbox' | 'outboxAt'>,
    events: OutboxEntry[],
    now: Date,
  ): Promise<KeyDocument> {
    return this.keys.create({
      _id: new Types.ObjectId(id),
      ...key,
      outbox: events,
      outboxAt: events.length > 0 ? now : null,
    });
  }

  /**
   * Inserts a key unless one with its hash exists; the new id, or null when it existed (nothing
   * written). An insert, not an upsert, so the document is written whole (see claimOnce).
   */
  async insertUnlessHashExists(key: Omit<Key, 'outbox' | 'outboxAt'>): Promise<string | null> {
    if (await this.keys.exists({ hash: key.hash })) return null;
    try {
      const doc = await this.keys.create({ ...key, outbox: [], outboxAt: null });
      return doc.id as string;
    } catch (error) {
      if (isDuplicateKeyError(error) && (await this.keys.exists({ hash: key.hash }))) return null;
      throw error;
    }
  }

  countActive(ownerId: string, now: Date): Promise<number> {
    return this.keys
      .countDocuments({
        'owner.userId': ownerId,
        status: KeyStatus.Active,
        expiresAt: { $gt: now },
      })
      .exec();
  }

  /** The owner's keys, newest first; a pending replacement is nobody's key yet. */
  listByOwner(ownerId: string): Promise<KeyDocument[]> {
    return this.keys
      .find({ 'owner.userId': ownerId, status: { $ne: KeyStatus.Pending } }, { outbox: 0 })
      .sort({ createdAt: -1 })
      .exec();
  }

  /** The lowercased labels already used on an account (labels stay taken after revocation). */
  async labelKeysOf(ownerId: string): Promise<Set<string>> {
    const keys = await this.keys.find({ 'owner.userId': ownerId }, { labelKey: 1 }).lean().exec();
    return new Set(keys.map((k) => k.labelKey));
  }

  /**
   * A key of this owner, or null: another owner's key is indistinguishable from a missing one, and
   * so is a pending replacement.
   */
  findOwned(ownerId: string, id: string): Promise<KeyDocument | null> {
    if (!Types.ObjectId.isValid(id)) return Promise.resolve(null);
    return this.keys
      .findOne({ _id: id, 'owner.userId': ownerId, status: { $ne: KeyStatus.Pending } }, { outbox: 0 })
      .exec();
  }

  /** These keys (those that exist), without their outboxes. */
  findByIds(ids: string[]): Promise<KeyDocument[]> {
    return this.keys.find({ _id: { $in: ids.filter((id) => Types.ObjectId.isValid(id)) } }, { outbox: 0 }).exec();
  }

  /** The key with this hash, whoever owns it (for leak reports, which name a key by its text). */
  findByHash(hash: string): Promise<KeyDocument | null> {
    return this.keys.findOne({ hash }, { outbox: 0 }).exec();
  }

  /** Sets what happens when the key is reported leaked; null when no such key on this account. */
  async setLeakResponse(ownerId: string, id: string, leakResponse: LeakResponse): Promise<KeyDocument | null> {
    if (!Types.ObjectId.isValid(id)) return null;
    // Updated, then read without its outbox (the outbox is never read back to a caller).
    const { matchedCount } = await this.keys
      .updateOne({ _id: id, 'owner.userId': ownerId }, { $set: { leakResponse } })
      .exec();
    return matchedCount === 1 ? this.findOwned(ownerId, id) : null;
  }

  /**
   * Keys carry their owner's time zone into every event they emit (reminders, expiry, leaks), so
   * notification-service never asks for it: a new choice of zone is copied to each of them. Not to
   * a closed account's kept keys: a change in flight as the account closes must not put it back.
   */
  async setOwnerTimeZone(ownerId: string, timeZone: string): Promise<void> {
    await this.keys
      .updateMany(
        { 'owner.userId': ownerId, 'owner.timeZone': { $ne: timeZone }, retainedUntil: null },
        { $set: { 'owner.timeZone': timeZone } },
      )
      .exec();
  }

  /** The replacement claimed by a rotation of `oldId` (at most one: `replaces` is unique). */
  findReplacementOf(ownerId: string, oldId: string): Promise<KeyDocument | null> {
    return this.keys.findOne({ 'owner.userId': ownerId, replaces: oldId }, { outbox: 0 }).exec();
  }

  /** Rotation replacements still pending (claims of rotations in flight, or interrupted). */
  pendingReplacements(): Promise<KeyDocument[]> {
    return this.keys.find({ status: KeyStatus.Pending, replaces: { $exists: true } }, { outbox: 0 }).exec();
  }

  /** Makes a rotation's replacement usable once its rotation committed; false if it is no longer pending. */
  async activateReplacement(id: string): Promise<boolean> {
    const result = await this.keys
      .updateOne({ _id: id, status: KeyStatus.Pending }, { $set: { status: KeyStatus.Active } })
      .exec();
    return result.matchedCount === 1;
  }

  /** Deletes a replacement whose rotation never committed (no event ever named it), freeing its claim and label. */
  async discardPending(id: string): Promise<void> {
    await this.keys.deleteOne({ _id: id, status: KeyStatus.Pending }).exec();
  }

  /** Frees a rotation claim, so the key it named can be rotated again. */
  async releaseClaim(id: string): Promise<void> {
    await this.keys.updateOne({ _id: id }, { $unset: { replaces: 1 } }).exec();
  }

  /** Every key of the owner, pending replacements and closed-account leftovers included. */
  listAllOf(ownerId: string): Promise<KeyDocument[]> {
    return this.keys.find({ 'owner.userId': ownerId }, { outbox: 0 }).exec();
  }

  /**
   * Reduces a key of a closed account to what verification needs to answer `revoked` (hash,
   * status, owner id, expiry), kept until `retainedUntil`, and appends `events` (its KeyRevoked,
   * for a key that still worked) in the same write. With `expected`, only if the key still holds
   * what the caller read (the event describes it); false when it changed meanwhile.
   */
  async closeForAccount(
    ownerId: string,
    id: string,
    expected: Expected | null,
    events: OutboxEntry[],
    { revokedAt, retainedUntil }: { revokedAt: Date; retainedUntil: Date },
    now: Date,
  ): Promise<boolean> {
    const filter = expected ? { _id: id, 'owner.userId': ownerId, ...expected } : { _id: id, 'owner.userId': ownerId };
    const result = await this.keys
      .updateOne(filter, {
        $set: {
          status: KeyStatus.Revoked,
          revokedAt,
          contacts: [],
          // Labels are the owner's words; the unique (owner, labelKey) index still needs a value.
          labelKey: `closed:${id}`,
          nextReminderAt: null,
          remindersSent: [],
          retainedUntil,
        },
        $unset: {
          label: 1,
          lastFive: 1,
          'owner.email': 1,
          'owner.timeZone': 1,
          lastUsedAt: 1,
          leakResponse: 1,
          leakReportedAt: 1,
          rotatedTo: 1,
          replaces: 1,
        },
        ...(events.length > 0 ? appendToOutbox(events, now) : {}),
      })
      .exec();
    return result.matchedCount === 1;
  }

  /** Deletes closed accounts' keys past their retention whose events have left; how many. */
  async deleteRetainedBefore(now: Date): Promise<number> {
    const { deletedCount } = await this.keys.deleteMany({ retainedUntil: { $lte: now }, outboxAt: null }).exec();
    return deletedCount;
  }

  /**
   * Applies `set` and appends `events` in one document write, only if the key still
   * holds what the caller read (`expected`, plus not yet rotated when `notRotated`, not yet
   * reported leaked when `leakNotReported`); false when it
   * changed meanwhile. Callers that must have a single winner across racing requests claim by a
   * unique insert first (see claimOnce); events that must reach consumers once have once-per-key ids.
   */
  async updateIf(
    ownerId: string,
    id: string,
    expected: Expected & { notRotated?: boolean; leakNotReported?: boolean },
    set: Partial<Key>,
    events: OutboxEntry[],
    now: Date,
  ): Promise<boolean> {
    const result = await this.keys
      .updateOne(
        {
          _id: id,
          'owner.userId': ownerId,
          contacts: expected.contacts,
          status: expected.status,
          expiresAt: expected.expiresAt,
          ...(expected.notRotated ? { rotatedTo: null } : {}),
          // Null also matches keys stored before the field existed.
          ...(expected.leakNotReported ? { leakReportedAt: null } : {}),
        },
        { $set: set, ...appendToOutbox(events, now) },
      )
      .exec();
    return result.matchedCount === 1;
  }
}
