import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { isDuplicateKeyError, writeInBatches } from '@keyward/mongo';
import { Model, Types } from 'mongoose';
import { appendToOutbox } from '../outbox/outbox';
import { OutboxEntry } from '../outbox/outbox-entry.schema';
import { CollectionOutbox, OutboxStore } from '../outbox/outbox-store';
import { Key, KeyDocument, KeyStatus, LeakResponse } from './key.schema';
import { ReminderCalendar } from './reminder-calendar';

/**
 * What every compare-and-set write on a key expects to find as it was read: the fields its event
 * describes (status, expiry, contacts), whether it was rotated, and its reminder schedule. One
 * condition for all writers, so a reminder claim, a rotation, a revocation and a contacts change
 * each lose to any of the others that landed first, and retry on what is there now.
 */
export type KeySnapshot = Pick<Key, 'status' | 'expiresAt' | 'contacts'> & {
  rotatedTo?: string | null;
  nextReminderAt?: Date | null;
};

/** The snapshot of a key as read (plain values, not a document's proxies). */
export function snapshotOf(key: KeySnapshot): KeySnapshot {
  return {
    status: key.status,
    expiresAt: key.expiresAt,
    contacts: [...key.contacts],
    rotatedTo: key.rotatedTo ?? null,
    nextReminderAt: key.nextReminderAt ?? null,
  };
}

/** The filter that matches a key only while it still holds `seen`. */
function unchanged(id: string | Types.ObjectId, seen: KeySnapshot) {
  return {
    _id: id,
    status: seen.status,
    expiresAt: seen.expiresAt,
    contacts: seen.contacts,
    // Null also matches keys stored before these fields existed.
    rotatedTo: seen.rotatedTo ?? null,
    nextReminderAt: seen.nextReminderAt ?? null,
  };
}

/** What a reminder claim reads of a key; the claim's write expects its snapshot unchanged. */
export type ReminderView = Pick<Key, 'owner' | 'label' | 'lastFive' | 'remindersSent'> &
  KeySnapshot & { _id: Types.ObjectId };

/** The change a reminder claim makes besides appending its event. */
export interface ReminderClaim {
  nextReminderAt: Date | null;
  sentStage?: number;
  status?: KeyStatus;
}

/** A key written before reminders existed: what its first reminder time is computed from. */
export type Unscheduled = Pick<Key, 'createdAt' | 'expiresAt'> & { _id: Types.ObjectId };

/** What a rotation sets on the key it replaces. */
export interface RotatedOut {
  rotatedTo: string;
  expiresAt: Date;
  status: KeyStatus;
  nextReminderAt: Date | null;
}

/**
 * The keys collection: every write to it in key-service is an operation of this repository, the
 * outbox relay's leases and removals included (`outbox`). scheduler-service reads it
 * through its contract in libs/contracts.
 *
 * Every operation that sets a key's `nextReminderAt` first lists the key in the reminder calendar
 * for that time (ReminderCalendar), then writes the key: a crash in between leaves a stale entry,
 * never a due key missing from the calendar.
 */
@Injectable()
export class KeysRepository {
  /** The outbox relay's reads and writes (they touch only the `outbox` and `outboxAt` fields). */
  readonly outbox: OutboxStore;

  constructor(
    @InjectModel(Key.name) private readonly keys: Model<Key>,
    private readonly calendar: ReminderCalendar,
  ) {
    this.outbox = new CollectionOutbox(keys);
  }

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
    await this.calendar.list(id, key.nextReminderAt, now);
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
  async insertUnlessHashExists(key: Omit<Key, 'outbox' | 'outboxAt'>, now: Date): Promise<string | null> {
    if (await this.keys.exists({ hash: key.hash })) return null;
    const _id = new Types.ObjectId();
    await this.calendar.list(_id.toHexString(), key.nextReminderAt, now);
    try {
      const doc = await this.keys.create({ _id, ...key, outbox: [], outboxAt: null });
      return doc.id as string;
    } catch (error) {
      if (isDuplicateKeyError(error) && (await this.keys.exists({ hash: key.hash }))) return null;
      throw error;
    }
  }

  /**
   * The owner's working keys, counting the replacement of a committed rotation (its old key marked
   * `rotatedTo` it) still pending: its request may have stopped before activating it, and the outbox
   * relay will. A pending replacement no old key points to is a claim, not a key.
   */
  async countActive(ownerId: string, now: Date): Promise<number> {
    const [active, pending] = await Promise.all([
      this.keys.countDocuments({ 'owner.userId': ownerId, status: KeyStatus.Active, expiresAt: { $gt: now } }).exec(),
      this.keys
        .find({ 'owner.userId': ownerId, status: KeyStatus.Pending, expiresAt: { $gt: now } }, { _id: 1 })
        .lean()
        .exec(),
    ]);
    if (pending.length === 0) return active;
    const rotatedTo = { $in: pending.map((key) => String(key._id)) };
    return active + (await this.keys.countDocuments({ 'owner.userId': ownerId, rotatedTo }).exec());
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

  /** Deletes closed accounts' keys past their retention whose events have left; how many. */
  async deleteRetainedBefore(now: Date): Promise<number> {
    const { deletedCount } = await this.keys.deleteMany({ retainedUntil: { $lte: now }, outboxAt: null }).exec();
    return deletedCount;
  }

  // Every write that changes what a key's events describe is below: each appends its events in the
  // same document write and matches only while the key holds the snapshot its caller read (see
  // KeySnapshot), plus what that operation alone requires. False when the key changed meanwhile: the
  // caller re-reads. Callers that must have a single winner across racing requests claim by a unique
  // insert first (see claimOnce); events that must reach consumers once have once-per-key ids.

  /** Replaces the contacts of an owner's key. */
  async replaceContacts(
    ownerId: string,
    id: string,
    seen: KeySnapshot,
    contacts: string[],
    events: OutboxEntry[],
    now: Date,
  ): Promise<boolean> {
    return this.updateUnchanged(
      { ...unchanged(id, seen), 'owner.userId': ownerId },
      { $set: { contacts } },
      events,
      now,
    );
  }

  /** Marks an owner's key rotated (cut to its grace period), unless it was rotated already. */
  async markRotated(
    ownerId: string,
    id: string,
    seen: KeySnapshot,
    rotated: RotatedOut,
    events: OutboxEntry[],
    now: Date,
  ): Promise<boolean> {
    await this.calendar.list(id, rotated.nextReminderAt, now);
    return this.updateUnchanged(
      { ...unchanged(id, seen), 'owner.userId': ownerId, rotatedTo: null },
      { $set: rotated },
      events,
      now,
    );
  }

  /**
   * Revokes an owner's key; `leakReportedAt` when it is revoked because it leaked, which happens
   * once per key (only while no leak was recorded).
   */
  async revoke(
    ownerId: string,
    id: string,
    seen: KeySnapshot,
    revoked: { revokedAt: Date; leakReportedAt?: Date },
    events: OutboxEntry[],
    now: Date,
  ): Promise<boolean> {
    return this.updateUnchanged(
      {
        ...unchanged(id, seen),
        'owner.userId': ownerId,
        ...(revoked.leakReportedAt ? { leakReportedAt: null } : {}),
      },
      { $set: { status: KeyStatus.Revoked, ...revoked } },
      events,
      now,
    );
  }

  /** Records a leak of an owner's key that keeps working (notify only), once per key. */
  async recordLeak(
    ownerId: string,
    id: string,
    seen: KeySnapshot,
    leakReportedAt: Date,
    events: OutboxEntry[],
    now: Date,
  ): Promise<boolean> {
    return this.updateUnchanged(
      // Null also matches keys stored before the field existed.
      { ...unchanged(id, seen), 'owner.userId': ownerId, leakReportedAt: null },
      { $set: { leakReportedAt } },
      events,
      now,
    );
  }

  /**
   * Reduces a key of a closed account to what verification needs to answer `revoked` (hash,
   * status, owner id, expiry), kept until `retainedUntil`, and appends `events` (its KeyRevoked,
   * for a key that still worked) in the same write. With `seen`, only while the key holds it (the
   * event describes it); without, whatever it holds.
   */
  async closeForAccount(
    ownerId: string,
    id: string,
    seen: KeySnapshot | null,
    events: OutboxEntry[],
    { revokedAt, retainedUntil }: { revokedAt: Date; retainedUntil: Date },
    now: Date,
  ): Promise<boolean> {
    const filter = { ...(seen ? unchanged(id, seen) : { _id: id }), 'owner.userId': ownerId };
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

  /**
   * The reminder claim: records the stage, moves `nextReminderAt` on and changes the status if
   * asked, with its event, only while the key is active and as it was read. Whoever else got there
   * first (another command, a revocation, a rotation, a contacts change) makes it match nothing.
   */
  async claimReminder(seen: ReminderView, claim: ReminderClaim, events: OutboxEntry[], now: Date): Promise<boolean> {
    await this.calendar.list(seen._id.toHexString(), claim.nextReminderAt, now);
    const outbox = appendToOutbox(events, now);
    const result = await this.keys
      .updateOne(
        { ...unchanged(seen._id, seen), status: KeyStatus.Active },
        {
          $set: { nextReminderAt: claim.nextReminderAt, ...(claim.status ? { status: claim.status } : {}) },
          $push: {
            ...outbox.$push,
            ...(claim.sentStage === undefined ? {} : { remindersSent: claim.sentStage }),
          },
          $max: outbox.$max,
        },
      )
      .exec();
    return result.matchedCount === 1;
  }

  /** Sets the first reminder time of an active key that has none (written before reminders existed). */
  async scheduleReminder(id: Types.ObjectId, nextReminderAt: Date, now: Date): Promise<boolean> {
    await this.calendar.list(id.toHexString(), nextReminderAt, now);
    const result = await this.keys
      .updateOne({ _id: id, status: KeyStatus.Active, nextReminderAt: null }, { $set: { nextReminderAt } })
      .exec();
    return result.modifiedCount === 1;
  }

  /**
   * Records verification times, a round trip per MAX_UPDATES_PER_COMMAND keys (one for most
   * flushes); `$max` so a late or repeated flush never moves a time backwards.
   */
  async recordLastUsed(times: Map<string, Date>): Promise<void> {
    await writeInBatches([...times], (batch) =>
      this.keys.bulkWrite(
        batch.map(([id, at]) => ({
          updateOne: { filter: { _id: new Types.ObjectId(id) }, update: { $max: { lastUsedAt: at } } },
        })),
        { ordered: false },
      ),
    );
  }

  /** What a reminder claim needs of a key. */
  findForReminder(keyId: string): Promise<ReminderView | null> {
    if (!Types.ObjectId.isValid(keyId)) return Promise.resolve(null);
    return this.keys
      .findById(keyId, {
        owner: 1,
        label: 1,
        lastFive: 1,
        contacts: 1,
        expiresAt: 1,
        status: 1,
        nextReminderAt: 1,
        remindersSent: 1,
        rotatedTo: 1,
      })
      .lean<ReminderView>()
      .exec();
  }

  /** Active keys without a reminder time (written before reminders existed). */
  findUnscheduled(): Promise<Unscheduled[]> {
    return this.keys
      .find({ status: KeyStatus.Active, nextReminderAt: null }, { createdAt: 1, expiresAt: 1 })
      .lean<Unscheduled[]>()
      .exec();
  }

  private async updateUnchanged(
    filter: object,
    update: { $set: Partial<Key> },
    events: OutboxEntry[],
    now: Date,
  ): Promise<boolean> {
    const result = await this.keys.updateOne(filter, { ...update, ...appendToOutbox(events, now) }).exec();
    return result.matchedCount === 1;
  }
}
