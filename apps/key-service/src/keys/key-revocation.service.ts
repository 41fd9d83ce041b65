import { Injectable, Logger } from '@nestjs/common';
import { KEYS_COLLECTION, Topic } from '@keyward/contracts';
import { keyLeaked, keyRevoked, LeakReport } from '../key-events/key-events';
import { outboxEntry } from '../outbox/outbox';
import { OutboxRelayService } from '../outbox/outbox-relay.service';
import { UserDocument } from '../users/user.schema';
import { KeyCap } from './key-cap';
import { KeyChanges } from './key-changes';
import { changedMeanwhile, MAX_ATTEMPTS } from './key-conflicts';
import { KeyDocument, KeyStatus, LeakResponse } from './key.schema';
import { KeysRepository, snapshotOf } from './keys.repository';
import { ownedKey } from './owned-key';
import { requestOrigin } from './request-origin';

/** What a leak report of a key came to (`reported`: the key still works, its people were told). */
export type LeakOutcome = 'revoked' | 'reported' | 'already_revoked' | 'expired';

/**
 * Ending a key before its expiry: by its owner, because it leaked, or because its account is being
 * closed. Each is one write that also appends the KeyRevoked, expecting the key as it was read.
 */
@Injectable()
export class KeyRevocation {
  private readonly logger = new Logger(KeyRevocation.name);

  constructor(
    private readonly keys: KeysRepository,
    private readonly relay: OutboxRelayService,
    private readonly keyChanges: KeyChanges,
    private readonly cap: KeyCap,
  ) {}

  /**
   * Revokes at once. Idempotent: revoking a key that is already revoked or expired changes nothing,
   * emits nothing, and still answers 204, so a client may safely retry.
   */
  async revoke(user: UserDocument, id: string, now = new Date()): Promise<void> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const doc = await ownedKey(this.keys, user, id);
      if (doc.status !== KeyStatus.Active || doc.expiresAt <= now) return;
      if (await this.revokeUnlessChanged(doc, now)) return;
    }
    throw changedMeanwhile();
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
        if (await this.revokeUnlessChanged(doc, now, report)) return 'revoked';
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
   * request that was in flight when the closure began is closed too; then the account's cap lease goes.
   */
  async closeAccountKeys(ownerId: string, retainedUntil: Date, now = new Date()): Promise<number> {
    const revoked: string[] = [];
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const open = (await this.keys.listAllOf(ownerId)).filter((doc) => !doc.retainedUntil);
      if (open.length === 0) {
        await this.cap.forgetAccount(ownerId);
        this.relay.nudge(KEYS_COLLECTION, ...revoked);
        return revoked.length;
      }
      for (const doc of open) {
        const id = doc.id as string;
        if (doc.status === KeyStatus.Pending) {
          await this.keys.discardPending(id);
          continue;
        }
        const works = doc.status === KeyStatus.Active && doc.expiresAt > now;
        const events = works
          ? [outboxEntry(Topic.KeyEvents, keyRevoked(id, doc, { cause: 'owner', accountClosed: true }, now))]
          : [];
        const retention = { revokedAt: doc.revokedAt ?? now, retainedUntil };
        // A key that changed meanwhile (a reminder, a contacts change) is closed on the next pass.
        if (await this.keys.closeForAccount(ownerId, id, works ? snapshotOf(doc) : null, events, retention, now)) {
          if (works) revoked.push(id);
          this.keyChanges.changed(id);
        }
      }
    }
    throw changedMeanwhile();
  }

  /**
   * Revokes a working key as it was read, or returns false if it changed meanwhile. `leak`: it is
   * revoked because it leaked (then once per key, with KeyLeaked in the same write).
   */
  async revokeUnlessChanged(doc: KeyDocument, now: Date, leak?: LeakReport): Promise<boolean> {
    const id = doc.id as string;
    const revoked = leak
      ? keyRevoked(id, doc, { cause: 'leak' }, now)
      : keyRevoked(id, doc, { cause: 'owner' }, now, requestOrigin());
    const entries = [outboxEntry(Topic.KeyEvents, revoked)];
    if (leak) entries.push(outboxEntry(Topic.KeyEvents, keyLeaked(id, doc, leak, 'revoked', now)));
    const changes = { revokedAt: now, ...(leak ? { leakReportedAt: now } : {}) };
    if (!(await this.keys.revoke(doc.owner.userId, id, snapshotOf(doc), changes, entries, now))) return false;
    this.relay.nudge(KEYS_COLLECTION, id);
    this.keyChanges.changed(id);
    this.logger.log({ keyId: id, ownerId: doc.owner.userId, cause: leak ? 'leak' : 'owner' }, 'key revoked');
    return true;
  }

  /** Records a leak of a key set to notify only: KeyLeaked, and the key keeps working. */
  private async recordLeak(doc: KeyDocument, report: LeakReport, now: Date): Promise<boolean> {
    const id = doc.id as string;
    const entries = [outboxEntry(Topic.KeyEvents, keyLeaked(id, doc, report, 'notified', now))];
    if (!(await this.keys.recordLeak(doc.owner.userId, id, snapshotOf(doc), now, entries, now))) return false;
    this.relay.nudge(KEYS_COLLECTION, id);
    this.logger.warn({ keyId: id, ownerId: doc.owner.userId, reporter: report.reporter }, 'key leaked; notify only');
    return true;
  }
}
