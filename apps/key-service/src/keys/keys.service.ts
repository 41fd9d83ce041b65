import { ConflictException, Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { buildKeyEvent, KEY_CREATED, Topic } from '@keyward/contracts';
import { OutboxRelayService } from '../outbox/outbox-relay.service';
import { outboxEntry } from '../outbox/outbox';
import { UserDocument } from '../users/user.schema';
import { CreatedKeyResponse, KeyResponse } from './dto/key.response';
import { CreateKeyDto } from './dto/create-key.dto';
import { generateKey, lastFiveOf } from './key-format';
import { KeyHasher } from './key-hasher';
import { KeyOwner, KeyStatus } from './key.schema';
import { DUPLICATE_KEY, KeysRepository } from './keys.repository';
import { addMonths } from './validity';

@Injectable()
export class KeysService {
  private readonly logger = new Logger(KeysService.name);
  private readonly validityMonths: number;
  private readonly maxActive: number;

  constructor(
    private readonly keys: KeysRepository,
    private readonly hasher: KeyHasher,
    private readonly relay: OutboxRelayService,
    config: ConfigService,
  ) {
    this.validityMonths = config.getOrThrow<number>('KEY_VALIDITY_MONTHS');
    this.maxActive = config.getOrThrow<number>('KEY_MAX_ACTIVE_PER_OWNER');
  }

  async create(user: UserDocument, input: CreateKeyDto, now = new Date()): Promise<CreatedKeyResponse> {
    const ownerId = user.id as string;
    if ((await this.keys.countActive(ownerId, now)) >= this.maxActive) {
      throw new ConflictException(`You already have ${this.maxActive} active keys; revoke one before creating another`);
    }
    const id = this.keys.newId();
    const key = generateKey(user.username);
    const owner: KeyOwner = {
      userId: ownerId,
      email: user.email,
      timeZone: user.timeZone,
    };
    const expiresAt = addMonths(now, this.validityMonths);
    const lastFive = lastFiveOf(key);
    const created = buildKeyEvent(KEY_CREATED, {
      keyId: id,
      owner,
      occurredAt: now,
      payload: {
        label: input.label,
        lastFive,
        contacts: input.contacts,
        createdAt: now.toISOString(),
        expiresAt: expiresAt.toISOString(),
      },
    });
    try {
      const doc = await this.keys.insert(
        id,
        {
          owner,
          hash: this.hasher.hash(key),
          lastFive,
          label: input.label,
          labelKey: input.label.toLowerCase(),
          contacts: input.contacts,
          createdAt: now,
          expiresAt,
          status: KeyStatus.Active,
          lastUsedAt: null,
          revokedAt: null,
          legacy: false,
        },
        [outboxEntry(Topic.KeyEvents, created)],
        now,
      );
      this.relay.nudge();
      this.logger.log({ keyId: id, ownerId }, 'key created');
      return { ...KeyResponse.from(doc, now), key };
    } catch (error) {
      if ((error as { code?: number }).code === DUPLICATE_KEY) {
        throw new ConflictException(`The label "${input.label}" is already used by another key on this account`);
      }
      throw error;
    }
  }

  async list(user: UserDocument, now = new Date()): Promise<KeyResponse[]> {
    return (await this.keys.listByOwner(user.id as string)).map((doc) => KeyResponse.from(doc, now));
  }
}
