import { Injectable, Logger } from '@nestjs/common';
import { KEYS_COLLECTION, Owner, Topic } from '@keyward/contracts';
import { isDuplicateKeyError } from '@keyward/mongo';
import { KeyServiceSettings } from '../config/key-service.env';
import { KeyHasher } from '../hashing/key-hasher';
import { keyCreated } from '../key-events/key-events';
import { outboxEntry } from '../outbox/outbox';
import { OutboxRelayService } from '../outbox/outbox-relay.service';
import { firstReminderAt } from '../schedule/reminder-schedule';
import { UserDocument } from '../users/user.schema';
import { CreateKeyBody } from './dto/create-key.dto';
import { CreatedKeyResponse, KeyResponse } from './dto/key.response';
import { KeyCap } from './key-cap';
import { KeyChanges } from './key-changes';
import { labelTaken } from './key-conflicts';
import { generateKey, lastFiveOf } from './key-format';
import { KeyDocument, KeyStatus } from './key.schema';
import { KeysRepository } from './keys.repository';
import { labelKeyOf } from './labels';
import { requestOrigin } from './request-origin';
import { addMonths } from './validity';

/** A key just written, and the response that hands out its text (the only place it ever leaves). */
export interface Issued {
  doc: KeyDocument;
  response: CreatedKeyResponse;
}

/** Creating a key, within the account's cap on active keys; also issues a rotation's replacement. */
@Injectable()
export class KeyCreation {
  private readonly logger = new Logger(KeyCreation.name);
  private readonly validityMonths: number;
  private readonly reminderStages: number[];

  constructor(
    private readonly keys: KeysRepository,
    private readonly hasher: KeyHasher,
    private readonly relay: OutboxRelayService,
    private readonly cap: KeyCap,
    private readonly keyChanges: KeyChanges,
    settings: KeyServiceSettings,
  ) {
    this.validityMonths = settings.KEY_VALIDITY_MONTHS;
    this.reminderStages = settings.REMINDER_STAGES_DAYS;
  }

  async create(user: UserDocument, input: CreateKeyBody, now = new Date()): Promise<CreatedKeyResponse> {
    return this.cap.withRoom(user.id as string, 0, now, async (assertHeld) => {
      assertHeld();
      try {
        const issued = await this.issue(user, input.label, input.contacts, null, now);
        this.relay.nudge(KEYS_COLLECTION, issued.doc._id);
        const { doc } = issued;
        this.keyChanges.created({
          id: doc.id as string,
          hash: doc.hash,
          ownerId: doc.owner.userId,
          label: doc.label,
          expiresAt: doc.expiresAt,
        });
        this.logger.log({ keyId: issued.doc.id, ownerId: user.id }, 'key created');
        return issued.response;
      } catch (error) {
        if (isDuplicateKeyError(error)) throw labelTaken(input.label);
        throw error;
      }
    });
  }

  /**
   * Generates a key and inserts it (one write): a new key active with its KeyCreated event, a
   * rotation's replacement pending with none (its rotation's KeyRotated announces it). The text
   * leaves only in the response; the id is derived from it (KeyHasher.idOf), for verification.
   */
  async issue(
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
            keyCreated(id, { owner, label, lastFive, contacts, expiresAt }, now, requestOrigin()),
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
