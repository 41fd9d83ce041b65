import { ConflictException, Injectable, Logger } from '@nestjs/common';
import { KEYS_COLLECTION, Topic } from '@keyward/contracts';
import { keyContactsChanged } from '../key-events/key-events';
import { outboxEntry } from '../outbox/outbox';
import { OutboxRelayService } from '../outbox/outbox-relay.service';
import { UserDocument } from '../users/user.schema';
import { sameContacts } from './contacts';
import { KeyResponse } from './dto/key.response';
import { KeyChanges } from './key-changes';
import { changedMeanwhile, MAX_ATTEMPTS } from './key-conflicts';
import { KeyStatus, LeakResponse } from './key.schema';
import { KeysRepository, snapshotOf } from './keys.repository';
import { noSuchKey, ownedKey } from './owned-key';
import { requestOrigin } from './request-origin';

/**
 * An account's keys as its owner sees them, and what the owner may edit on one: its contacts and
 * what happens when it leaks. Creation, rotation and revocation have a class each (KeyCreation,
 * KeyRotation, KeyRevocation).
 */
@Injectable()
export class KeysService {
  private readonly logger = new Logger(KeysService.name);

  constructor(
    private readonly keys: KeysRepository,
    private readonly relay: OutboxRelayService,
    private readonly keyChanges: KeyChanges,
  ) {}

  async list(user: UserDocument, now = new Date()): Promise<KeyResponse[]> {
    return (await this.keys.listByOwner(user.id as string)).map((doc) => KeyResponse.from(doc, now));
  }

  async get(user: UserDocument, id: string, now = new Date()): Promise<KeyResponse> {
    return KeyResponse.from(await ownedKey(this.keys, user, id), now);
  }

  /** Replaces the contacts; an unchanged set (in any order) writes nothing and emits nothing. */
  async replaceContacts(user: UserDocument, id: string, contacts: string[], now = new Date()): Promise<KeyResponse> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const doc = await ownedKey(this.keys, user, id);
      if (sameContacts(doc.contacts, contacts)) return KeyResponse.from(doc, now);
      if (doc.status === KeyStatus.Revoked) {
        throw new ConflictException('This key is revoked; its contacts can no longer change');
      }
      const entries = [outboxEntry(Topic.KeyEvents, keyContactsChanged(id, doc, contacts, now, requestOrigin()))];
      if (await this.keys.replaceContacts(doc.owner.userId, id, snapshotOf(doc), contacts, entries, now)) {
        this.relay.nudge(KEYS_COLLECTION, id);
        this.keyChanges.changed(id);
        this.logger.log({ keyId: id, ownerId: doc.owner.userId }, 'key contacts replaced');
        doc.contacts = contacts;
        return KeyResponse.from(doc, now);
      }
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
    if (!doc) throw noSuchKey(id);
    this.logger.log({ keyId: id, ownerId: doc.owner.userId, leakResponse }, 'key leak response set');
    return KeyResponse.from(doc, now);
  }
}
