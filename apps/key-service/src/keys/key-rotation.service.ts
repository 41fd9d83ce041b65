import { ConflictException, Injectable, Logger, OnApplicationBootstrap, OnModuleInit } from '@nestjs/common';
import { HOUR_MS, KEY_ROTATED, KEYS_COLLECTION, Topic } from '@keyward/contracts';
import { isDuplicateKeyError } from '@keyward/mongo';
import { keyRotated } from '../key-events/key-events';
import { outboxEntry } from '../outbox/outbox';
import { OutboxFields } from '../outbox/outbox-entry.schema';
import { OutboxRelayService } from '../outbox/outbox-relay.service';
import { UserDocument } from '../users/user.schema';
import { CreatedKeyResponse } from './dto/key.response';
import { RotateKeyBody } from './dto/rotate-key.dto';
import { KeyCap } from './key-cap';
import { KeyChanges } from './key-changes';
import { changedMeanwhile, labelTaken, MAX_ATTEMPTS } from './key-conflicts';
import { Issued, KeyCreation } from './key-creation.service';
import { KeyRevocation } from './key-revocation.service';
import { Key, KeyDocument, KeyStatus } from './key.schema';
import { KeysRepository, snapshotOf } from './keys.repository';
import { freeRotationLabel } from './labels';
import { ownedKey } from './owned-key';
import { requestOrigin } from './request-origin';

/** A rotation claim this old whose old key is still unmarked was left by a crash, not a request in flight. */
const ROTATION_CLAIM_MS = 60_000;

/**
 * Rotating a key: a replacement with the same contacts, and the old key cut to a grace period.
 * Two documents, so two writes:
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
@Injectable()
export class KeyRotation implements OnModuleInit, OnApplicationBootstrap {
  private readonly logger = new Logger(KeyRotation.name);

  constructor(
    private readonly keys: KeysRepository,
    private readonly creation: KeyCreation,
    private readonly revocation: KeyRevocation,
    private readonly relay: OutboxRelayService,
    private readonly keyChanges: KeyChanges,
    private readonly cap: KeyCap,
  ) {}

  onModuleInit(): void {
    this.relay.afterPublishing(KEYS_COLLECTION, (docs) => this.completeRotations(docs));
  }

  /** Not awaited: a database still coming up delays it, not the start. */
  onApplicationBootstrap(): void {
    void this.completeRotationsPublishedBefore().catch((error: unknown) =>
      this.logger.warn(`could not look for rotations left half done: ${(error as Error).message}`),
    );
  }

  /** Rotates the key (graceHours 0: the old key is expired at once, status `expired`). */
  async rotate(user: UserDocument, id: string, input: RotateKeyBody, now = new Date()): Promise<CreatedKeyResponse> {
    assertRotatable(await ownedKey(this.keys, user, id), now);
    return this.cap.withRoom(user.id as string, 1, now, async (assertHeld) => {
      const old = await ownedKey(this.keys, user, id);
      assertRotatable(old, now);
      const replacement = await this.claimReplacement(user, old, input.label, now);

      assertHeld();
      if (!(await this.markRotated(old, replacement.doc, input.graceHours, now))) {
        // A revocation or an expiry won meanwhile: this replacement is never handed out.
        await this.keys.discardPending(replacement.doc.id as string);
        assertRotatable(await ownedKey(this.keys, user, id), now);
        throw changedMeanwhile();
      }
      this.relay.nudge(KEYS_COLLECTION, id);
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
   * Activates the replacements of committed rotations whose KeyRotated was published before the
   * relay completed rotations (the previous version): the relay will not see those events again.
   */
  private async completeRotationsPublishedBefore(): Promise<void> {
    for (const pending of await this.keys.pendingReplacements()) {
      const old = await this.keys.findOwned(pending.owner.userId, pending.replaces!);
      if (!old || old.rotatedTo !== pending.id) continue;
      if (await this.keys.activateReplacement(pending.id as string)) {
        await this.cap.keysAddedElsewhere(pending.owner.userId);
        this.logger.warn({ keyId: old.id, newKeyId: pending.id }, 'activated the replacement of a committed rotation');
      }
    }
  }

  /**
   * Activates the replacement of each rotation whose KeyRotated the relay has just published: the
   * rotating request normally did so already; after a crash between the commit and that step this
   * completes it. Idempotent (only a pending replacement changes). A key made working here is outside
   * the cap's lease, so the account's next change counts its keys (KeyCap.keysAddedElsewhere).
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
      // Also when it was active already: a relay that stopped before this line activates nothing the next time.
      if (doc.owner) await this.cap.keysAddedElsewhere(doc.owner.userId);
    }
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
        return await this.creation.issue(user, candidate, [...old.contacts], { replaces: oldId }, now);
      } catch (error) {
        if (!isDuplicateKeyError(error)) throw error;
      }
      // A duplicate-key error need not name its index (see isDuplicateKeyError): the claim tells which one it was.
      const claim = await this.keys.findReplacementOf(ownerId, oldId);
      if (!claim) {
        if (label !== undefined) throw labelTaken(label);
        continue;
      }
      assertRotatable(await ownedKey(this.keys, user, oldId), now);
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
    if (claim.status === KeyStatus.Active && claim.expiresAt > now)
      await this.revocation.revokeUnlessChanged(claim, now);
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
      const ownerId = current.owner.userId;
      const id = current.id as string;
      const newKeyId = replacement.id as string;
      const event = keyRotated(
        id,
        current,
        { oldKeyExpiresAt: expiresAt, newKeyId, replacement },
        now,
        requestOrigin(),
      );
      const rotated = {
        rotatedTo: newKeyId,
        expiresAt,
        status: graceHours === 0 ? KeyStatus.Expired : current.status,
        // No reminders for a rotated-out key; the scan closes it at the grace period's end, silently.
        nextReminderAt: graceHours === 0 ? null : expiresAt,
      };
      const entries = [outboxEntry(Topic.KeyEvents, event)];
      if (await this.keys.markRotated(ownerId, id, snapshotOf(current), rotated, entries, now)) {
        this.keyChanges.changed(id);
        return true;
      }
      current = await this.keys.findOwned(ownerId, id);
    }
    return false;
  }
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
