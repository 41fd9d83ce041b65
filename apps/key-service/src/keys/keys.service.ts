import {
  ConflictException,
  Injectable,
  Logger,
  NotFoundException,
  OnApplicationBootstrap,
  OnModuleInit,
} from '@nestjs/common';
import {
  buildKeyEvent,
  HOUR_MS,
  KEY_CONTACTS_CHANGED,
  KEY_CREATED,
  KEY_LEAKED,
  KEY_REVOKED,
  KEYS_COLLECTION,
  KEY_ROTATED,
  LeakAction,
  Owner,
  Topic,
} from '@keyward/contracts';
import { isDuplicateKeyError } from '@keyward/mongo';
import { KeyServiceSettings } from '../config/key-service.env';
import { onceEventId, ownerOf } from '../key-events/key-event-fields';
import { OutboxFields } from '../outbox/outbox-entry.schema';
import { OutboxRelayService } from '../outbox/outbox-relay.service';
import { outboxEntry } from '../outbox/outbox';
import { firstReminderAt } from '../schedule/reminder-schedule';
import { UserDocument } from '../users/user.schema';
import { sameContacts } from './contacts';
import { CreateKeyBody } from './dto/create-key.dto';
import { CreatedKeyResponse, KeyResponse } from './dto/key.response';
import { RotateKeyBody } from './dto/rotate-key.dto';
import { generateKey, lastFiveOf } from './key-format';
import { KeyCap } from './key-cap';
import { KeyChanges } from './key-changes';
import { KeyHasher } from '../hashing/key-hasher';
import { Key, KeyDocument, KeyStatus, LeakResponse } from './key.schema';
import { KeysRepository, snapshotOf } from './keys.repository';
import { requestOrigin } from './request-origin';
import { freeRotationLabel, labelKeyOf } from './labels';
import { addMonths } from './validity';

/** Compare-and-set attempts before a change that keeps losing to concurrent writes gives up with 409. */
const MAX_ATTEMPTS = 5;
/** A rotation claim this old whose old key is still unmarked was left by a crash, not a request in flight. */
const ROTATION_CLAIM_MS = 60_000;

const labelTaken = (label: string) => {
  const message = `The label "${label}" is already used by another key on this account`;
  // Names the field, so a form can show the message beside the label input.
  return new ConflictException({ message, errors: [{ field: 'label', message }] });
};
/** A report that a key was found in the open: where, and by whom. */
export interface LeakReport {
  url: string | null;
  source: string | null;
  reporter: string;
}

/** What a leak report of a key came to (`reported`: the key still works, its people were told). */
export type LeakOutcome = 'revoked' | 'reported' | 'already_revoked' | 'expired';

const changedMeanwhile = () => new ConflictException('This key changed while we were updating it; please try again');

/**
 * The key lifecycle. Every change is one document write that also appends its event to the key's
 * outbox, expecting the fields it read to be unchanged, so an event always describes the state it
 * replaced; the relay publishes it after the write.
 */
@Injectable()
export class KeysService implements OnModuleInit, OnApplicationBootstrap {
  private readonly logger = new Logger(KeysService.name);
  private readonly validityMonths: number;
  private readonly reminderStages: number[];

  constructor(
    private readonly keys: KeysRepository,
    private readonly hasher: KeyHasher,
    private readonly relay: OutboxRelayService,
    settings: KeyServiceSettings,
    private readonly keyChanges: KeyChanges,
    private readonly cap: KeyCap,
  ) {
    this.validityMonths = settings.KEY_VALIDITY_MONTHS;
    this.reminderStages = settings.REMINDER_STAGES_DAYS;
  }

  onModuleInit(): void {
    this.relay.afterPublishing(KEYS_COLLECTION, (docs) => this.completeRotations(docs));
  }

  /** Not awaited: a database still coming up delays it, not the start. */
  onApplicationBootstrap(): void {
    void this.completeRotationsPublishedBefore().catch((error: unknown) =>
      this.logger.warn(`could not look for rotations left half done: ${(error as Error).message}`),
    );
  }

  /**
   * Activates the replacements of committed rotations whose KeyRotated was published before the
   * relay completed rotations (the previous version): the relay will not see those events again.
   */
  private async completeRotationsPublishedBefore(): Promise<void> {
    for (const pending of await this.keys.pendingReplacements()) {
      const old = await this.keys.findOwned(pending.owner.userId, pending.replaces!);
      if (!old || old.rotatedTo !== pending.id) continue;
      if (await this.keys.activateReplacement(pending.id as string)) {
        this.logger.warn({ keyId: old.id, newKeyId: pending.id }, 'activated the replacement of a committed rotation');
      }
    }
  }

  async create(user: UserDocument, input: CreateKeyBody, now = new Date()): Promise<CreatedKeyResponse> {
    return this.cap.withRoom(user.id as string, 0, now, async (assertHeld) => {
      assertHeld();
      try {
        const issued = await this.issue(user, input.label, input.contacts, null, now);
        this.relay.nudge();
        this.logger.log({ keyId: issued.doc.id, ownerId: user.id }, 'key created');
        return issued.response;
      } catch (error) {
        if (isDuplicateKeyError(error)) throw labelTaken(input.label);
        throw error;
      }
    });
  }

  async list(user: UserDocument, now = new Date()): Promise<KeyResponse[]> {
    return (await this.keys.listByOwner(user.id as string)).map((doc) => KeyResponse.from(doc, now));
  }

  async get(user: UserDocument, id: string, now = new Date()): Promise<KeyResponse> {
    return KeyResponse.from(await this.owned(user, id), now);
  }

  /** Replaces the contacts; an unchanged set (in any order) writes nothing and emits nothing. */
  async replaceContacts(user: UserDocument, id: string, contacts: string[], now = new Date()): Promise<KeyResponse> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const doc = await this.owned(user, id);
      if (sameContacts(doc.contacts, contacts)) return KeyResponse.from(doc, now);
      if (doc.status === KeyStatus.Revoked) {
        throw new ConflictException('This key is revoked; its contacts can no longer change');
      }
      const event = buildKeyEvent(KEY_CONTACTS_CHANGED, {
        keyId: id,
        owner: ownerOf(doc),
        occurredAt: now,
        payload: {
          label: doc.label,
          lastFive: doc.lastFive,
          previousContacts: [...doc.contacts],
          contacts,
          expiresAt: doc.expiresAt.toISOString(),
          ...requestOrigin(),
        },
      });
      const entries = [outboxEntry(Topic.KeyEvents, event)];
      if (await this.keys.replaceContacts(doc.owner.userId, id, snapshotOf(doc), contacts, entries, now)) {
        this.relay.nudge();
        this.keyChanges.changed(id);
        this.logger.log({ keyId: id, ownerId: doc.owner.userId }, 'key contacts replaced');
        doc.contacts = contacts;
        return KeyResponse.from(doc, now);
      }
    }
    throw changedMeanwhile();
  }

  /**
   * Revokes at once. Idempotent: revoking a key that is already revoked or expired changes nothing,
   * emits nothing, and still answers 204, so a client may safely retry.
   */
  async revoke(user: UserDocument, id: string, now = new Date()): Promise<void> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const doc = await this.owned(user, id);
      if (doc.status !== KeyStatus.Active || doc.expiresAt <= now) return;
      if (await this.revokeKey(doc, now)) return;
    }
    throw changedMeanwhile();
  }

  /** Sets what happens when the key is reported leaked (no event: nothing about the key changed yet). */
  async setLeakResponse(
    user: UserDocument,
    id: string,
    leakResponse: LeakResponse,
    now = new Date(),
  ): Promise<KeyResponse> {
    const doc = await this.keys.setLeakResponse(user.id as string, id, leakResponse);
    if (!doc) throw new NotFoundException(`No key with id "${id}" on this account`);
    this.logger.log({ keyId: id, ownerId: doc.owner.userId, leakResponse }, 'key leak response set');
    return KeyResponse.from(doc, now);
  }

  /**
   * Contains a leak of this key, once per key: by default revokes it through the ordinary
   * revocation (its KeyRevoked marked cause `leak`, so its people get the one leak email, not a
   * second one) with KeyLeaked beside it in the same write; a key set to notify only gets KeyLeaked
   * and keeps working. A key already reported, revoked or expired is left as it is.
   */
  async containLeak(found: KeyDocument, report: LeakReport, now = new Date()): Promise<LeakOutcome> {
    let doc: KeyDocument | null = found;
    for (let attempt = 0; attempt < MAX_ATTEMPTS && doc; attempt++) {
      if (doc.status === KeyStatus.Revoked) return 'already_revoked';
      if (doc.status === KeyStatus.Expired || doc.expiresAt <= now) return 'expired';
      if (doc.leakReportedAt) return 'reported';
      if ((doc.leakResponse ?? LeakResponse.Revoke) === LeakResponse.Revoke) {
        if (await this.revokeKey(doc, now, report)) return 'revoked';
      } else if (await this.recordLeak(doc, report, now)) {
        return 'reported';
      }
      doc = await this.keys.findOwned(doc.owner.userId, doc.id as string);
    }
    throw changedMeanwhile();
  }

  /**
   * Closes every key of an account that is being closed: a key that still works is revoked with a
   * KeyRevoked marked `accountClosed` (its contacts hear the account is gone), every key is stripped
   * to what verification needs to answer `revoked` until `retainedUntil`, and a rotation's pending
   * replacement (never handed out) goes. Safe to run again: a key already closed is only stripped
   * again, with no second event. Listed again until nothing is left open, so a key created by a
   * request that was in flight when the closure began is closed too.
   */
  async closeAccountKeys(ownerId: string, retainedUntil: Date, now = new Date()): Promise<number> {
    let revoked = 0;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const open = (await this.keys.listAllOf(ownerId)).filter((doc) => !doc.retainedUntil);
      if (open.length === 0) {
        this.relay.nudge();
        return revoked;
      }
      for (const doc of open) {
        const id = doc.id as string;
        if (doc.status === KeyStatus.Pending) {
          await this.keys.discardPending(id);
          continue;
        }
        const works = doc.status === KeyStatus.Active && doc.expiresAt > now;
        const events = works ? [outboxEntry(Topic.KeyEvents, this.closureRevocation(doc, now))] : [];
        const retention = { revokedAt: doc.revokedAt ?? now, retainedUntil };
        // A key that changed meanwhile (a reminder, a contacts change) is closed on the next pass.
        if (await this.keys.closeForAccount(ownerId, id, works ? snapshotOf(doc) : null, events, retention, now)) {
          if (works) revoked++;
          this.keyChanges.changed(id);
        }
      }
    }
    throw changedMeanwhile();
  }

  /**
   * Issues a replacement with the same contacts and cuts the old key's validity to the grace period
   * (graceHours 0: the old key is expired at once, status `expired`). Two documents, so two writes:
   * 1. the replacement is inserted `pending` with no event and `replaces: <old id>`; that field is
   *    unique, so the insert is the claim: of concurrent rotations of one key, one gets past it;
   * 2. the old key is marked rotated with its KeyRotated, which also announces the replacement
   *    (label, last five, expiry): this write commits the rotation, and it is the only event.
   * Then the replacement turns `active` and the response hands out its text. A crash before the
   * commit leaves a pending replacement nobody heard of; a retry more than ROTATION_CLAIM_MS later
   * discards it and rotates normally; sooner, the claim may belong to a request still in flight,
   * so it answers 409. A crash after the commit loses the text like any lost response, and the
   * outbox relay activates the replacement when it publishes the KeyRotated (completeRotations): the
   * contacts were told of it, so it is listed, can be revoked or rotated, and does not stay pending.
   */
  async rotate(user: UserDocument, id: string, input: RotateKeyBody, now = new Date()): Promise<CreatedKeyResponse> {
    assertRotatable(await this.owned(user, id), now);
    return this.cap.withRoom(user.id as string, 1, now, async (assertHeld) => {
      const old = await this.owned(user, id);
      assertRotatable(old, now);
      const replacement = await this.claimReplacement(user, old, input.label, now);

      assertHeld();
      if (!(await this.markRotated(old, replacement.doc, input.graceHours, now))) {
        // A revocation or an expiry won meanwhile: this replacement is never handed out.
        await this.keys.discardPending(replacement.doc.id as string);
        assertRotatable(await this.owned(user, id), now);
        throw changedMeanwhile();
      }
      this.relay.nudge();
      const newId = replacement.doc.id as string;
      // The relay may have activated it first (completeRotations).
      if (!(await this.keys.activateReplacement(newId)) && !(await this.keys.findOwned(old.owner.userId, newId))) {
        // Only a request that outlived its claim by a minute can get here: its replacement was discarded.
        this.logger.error(
          { keyId: id, newKeyId: replacement.doc.id },
          'rotation committed but its replacement is gone',
        );
        throw changedMeanwhile();
      }
      this.logger.log(
        { keyId: id, newKeyId: replacement.doc.id, ownerId: old.owner.userId, graceHours: input.graceHours },
        'key rotated',
      );
      return { ...replacement.response, status: KeyStatus.Active };
    });
  }

  /**
   * Activates the replacement of each rotation whose KeyRotated the relay has just published: the
   * rotating request normally did so already; after a crash between the commit and that step this
   * completes it. Idempotent (only a pending replacement changes).
   */
  private async completeRotations(docs: (OutboxFields & Partial<Key> & { _id?: unknown })[]): Promise<void> {
    for (const doc of docs) {
      const rotated = doc.outbox.some((e) => (JSON.parse(e.value) as { type?: string }).type === KEY_ROTATED);
      if (!doc.rotatedTo || !rotated) continue;
      if (await this.keys.activateReplacement(doc.rotatedTo)) {
        this.logger.warn(
          { keyId: String(doc._id), newKeyId: doc.rotatedTo },
          'activated the replacement of a published rotation (its request stopped, or had not got there yet)',
        );
      }
    }
  }

  private async owned(user: UserDocument, id: string): Promise<KeyDocument> {
    const doc = await this.keys.findOwned(user.id as string, id);
    if (!doc) throw new NotFoundException(`No key with id "${id}" on this account`);
    return doc;
  }

  /**
   * Inserts the pending replacement, which claims the rotation. On a duplicate key: a taken default
   * label moves on to the next one; a claim left by an interrupted rotation is abandoned and retried.
   */
  private async claimReplacement(
    user: UserDocument,
    old: KeyDocument,
    label: string | undefined,
    now: Date,
  ): Promise<Issued> {
    const ownerId = user.id as string;
    const oldId = old.id as string;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const candidate = label ?? freeRotationLabel(old.label, now, user.timeZone, await this.keys.labelKeysOf(ownerId));
      try {
        return await this.issue(user, candidate, [...old.contacts], { replaces: oldId }, now);
      } catch (error) {
        if (!isDuplicateKeyError(error)) throw error;
      }
      // A duplicate-key error need not name its index (see isDuplicateKeyError): the claim tells which one it was.
      const claim = await this.keys.findReplacementOf(ownerId, oldId);
      if (!claim) {
        if (label !== undefined) throw labelTaken(label);
        continue;
      }
      assertRotatable(await this.owned(user, oldId), now);
      if (now.getTime() - claim.createdAt.getTime() < ROTATION_CLAIM_MS) {
        throw new ConflictException('This key is being rotated by another request; try again in a minute');
      }
      this.logger.warn({ keyId: claim.id, replaces: oldId }, 'abandoning the replacement of an interrupted rotation');
      await this.abandonClaim(claim, now);
    }
    throw changedMeanwhile();
  }

  /**
   * Drops a replacement that was never handed out. A pending one was never announced, so it goes
   * silently; an active one was left by the previous version, which had already sent its
   * KeyCreated, so it is revoked (telling the same contacts) and its claim freed.
   */
  private async abandonClaim(claim: KeyDocument, now: Date): Promise<void> {
    if (claim.status === KeyStatus.Pending) {
      await this.keys.discardPending(claim.id as string);
      return;
    }
    if (claim.status === KeyStatus.Active && claim.expiresAt > now) await this.revokeKey(claim, now);
    await this.keys.releaseClaim(claim.id as string);
  }

  /** Cuts the old key to the grace period and appends KeyRotated, unless it changed; retries on a concurrent edit. */
  private async markRotated(
    old: KeyDocument,
    replacement: KeyDocument,
    graceHours: number,
    now: Date,
  ): Promise<boolean> {
    let current: KeyDocument | null = old;
    for (let attempt = 0; attempt < MAX_ATTEMPTS && current; attempt++) {
      if (current.rotatedTo || current.status !== KeyStatus.Active || current.expiresAt <= now) return false;
      const graceEnd = new Date(now.getTime() + graceHours * HOUR_MS);
      const expiresAt = graceEnd < current.expiresAt ? graceEnd : current.expiresAt;
      const event = buildKeyEvent(KEY_ROTATED, {
        keyId: current.id as string,
        owner: ownerOf(current),
        occurredAt: now,
        payload: {
          label: current.label,
          lastFive: current.lastFive,
          contacts: [...current.contacts],
          oldKeyExpiresAt: expiresAt.toISOString(),
          newKeyId: replacement.id as string,
          newLabel: replacement.label,
          newLastFive: replacement.lastFive,
          newExpiresAt: replacement.expiresAt.toISOString(),
          ...requestOrigin(),
        },
      });
      const rotated = {
        rotatedTo: replacement.id as string,
        expiresAt,
        status: graceHours === 0 ? KeyStatus.Expired : current.status,
        // No reminders for a rotated-out key; the scan closes it at the grace period's end, silently.
        nextReminderAt: graceHours === 0 ? null : expiresAt,
      };
      const ownerId = current.owner.userId;
      const id = current.id as string;
      const entries = [outboxEntry(Topic.KeyEvents, event)];
      if (await this.keys.markRotated(ownerId, id, snapshotOf(current), rotated, entries, now)) {
        this.keyChanges.changed(id);
        return true;
      }
      current = await this.keys.findOwned(ownerId, id);
    }
    return false;
  }

  /** Records a leak of a key set to notify only: KeyLeaked, and the key keeps working. */
  private async recordLeak(doc: KeyDocument, report: LeakReport, now: Date): Promise<boolean> {
    const recorded = await this.keys.recordLeak(
      doc.owner.userId,
      doc.id as string,
      snapshotOf(doc),
      now,
      [outboxEntry(Topic.KeyEvents, leakedEvent(doc, report, 'notified', now))],
      now,
    );
    if (recorded) {
      this.relay.nudge();
      this.logger.warn(
        { keyId: doc.id, ownerId: doc.owner.userId, reporter: report.reporter },
        'key leaked; notify only',
      );
    }
    return recorded;
  }

  /** The KeyRevoked of a working key whose account is being closed; its id is the key's one revocation id. */
  private closureRevocation(doc: KeyDocument, now: Date) {
    return {
      ...buildKeyEvent(KEY_REVOKED, {
        keyId: doc.id as string,
        owner: ownerOf(doc),
        occurredAt: now,
        payload: {
          label: doc.label,
          lastFive: doc.lastFive,
          contacts: [...doc.contacts],
          revokedAt: now.toISOString(),
          cause: 'owner',
          accountClosed: true,
        },
      }),
      eventId: onceEventId(doc.id as string, KEY_REVOKED, doc.expiresAt),
    };
  }

  /** Revokes an active key; `leak` when it is revoked because it leaked (then once per key, with KeyLeaked). */
  private async revokeKey(doc: KeyDocument, now: Date, leak?: LeakReport): Promise<boolean> {
    const event = {
      ...buildKeyEvent(KEY_REVOKED, {
        keyId: doc.id as string,
        owner: ownerOf(doc),
        occurredAt: now,
        payload: {
          label: doc.label,
          lastFive: doc.lastFive,
          contacts: [...doc.contacts],
          revokedAt: now.toISOString(),
          cause: leak ? 'leak' : 'owner',
          ...(leak ? {} : requestOrigin()),
        },
      }),
      // A key is revoked once, so its revocation has one id: racing revocations reach consumers once.
      eventId: onceEventId(doc.id as string, KEY_REVOKED, doc.expiresAt),
    };
    const entries = [outboxEntry(Topic.KeyEvents, event)];
    if (leak) entries.push(outboxEntry(Topic.KeyEvents, leakedEvent(doc, leak, 'revoked', now)));
    const revoked = await this.keys.revoke(
      doc.owner.userId,
      doc.id as string,
      snapshotOf(doc),
      { revokedAt: now, ...(leak ? { leakReportedAt: now } : {}) },
      entries,
      now,
    );
    if (revoked) {
      this.relay.nudge();
      this.keyChanges.changed(doc.id as string);
      this.logger.log({ keyId: doc.id, ownerId: doc.owner.userId, cause: leak ? 'leak' : 'owner' }, 'key revoked');
    }
    return revoked;
  }

  /**
   * Generates a key and inserts it (one write): a new key active with its KeyCreated event, a
   * rotation's replacement pending with none (its rotation's KeyRotated announces it). The text
   * leaves only in the response; the id is derived from it (KeyHasher.idOf), for verification.
   */
  private async issue(
    user: UserDocument,
    label: string,
    contacts: string[],
    rotation: { replaces: string } | null,
    now: Date,
  ): Promise<Issued> {
    const key = generateKey(user.username);
    const id = this.hasher.idOf(key);
    const owner: Owner = { userId: user.id as string, email: user.email, timeZone: user.timeZone };
    const expiresAt = addMonths(now, this.validityMonths);
    const lastFive = lastFiveOf(key);
    const events = rotation
      ? []
      : [
          outboxEntry(
            Topic.KeyEvents,
            buildKeyEvent(KEY_CREATED, {
              keyId: id,
              owner,
              occurredAt: now,
              payload: {
                label,
                lastFive,
                contacts,
                createdAt: now.toISOString(),
                expiresAt: expiresAt.toISOString(),
                ...requestOrigin(),
              },
            }),
          ),
        ];
    const doc = await this.keys.insert(
      id,
      {
        owner,
        hash: this.hasher.hash(key),
        lastFive,
        label,
        labelKey: labelKeyOf(label),
        contacts,
        createdAt: now,
        expiresAt,
        status: rotation ? KeyStatus.Pending : KeyStatus.Active,
        lastUsedAt: null,
        revokedAt: null,
        legacy: false,
        nextReminderAt: firstReminderAt(expiresAt, this.reminderStages, now),
        remindersSent: [],
        rotatedTo: null,
        ...(rotation ?? {}),
      },
      events,
      now,
    );
    return { doc, response: { ...KeyResponse.from(doc, now), key } };
  }
}

interface Issued {
  doc: KeyDocument;
  response: CreatedKeyResponse;
}

/** A key's KeyLeaked, once per key (its id says so: see onceEventId). */
function leakedEvent(doc: KeyDocument, report: LeakReport, action: LeakAction, now: Date) {
  return {
    ...buildKeyEvent(KEY_LEAKED, {
      keyId: doc.id as string,
      owner: ownerOf(doc),
      occurredAt: now,
      payload: {
        label: doc.label,
        lastFive: doc.lastFive,
        contacts: [...doc.contacts],
        url: report.url,
        source: report.source,
        reporter: report.reporter,
        reportedAt: now.toISOString(),
        action,
      },
    }),
    eventId: onceEventId(doc.id as string, KEY_LEAKED, doc.expiresAt),
  };
}

function assertRotatable(doc: KeyDocument, now: Date): void {
  if (doc.status === KeyStatus.Revoked) throw new ConflictException('This key is revoked and cannot be rotated');
  if (doc.status === KeyStatus.Expired || doc.expiresAt <= now) {
    throw new ConflictException('This key has expired and cannot be rotated; create a new key instead');
  }
  if (doc.rotatedTo) {
    throw new ConflictException(`This key was already rotated; its replacement is key "${doc.rotatedTo}"`);
  }
}
