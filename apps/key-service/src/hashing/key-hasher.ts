import { Injectable } from '@nestjs/common';
import { createHmac, createSecretKey, KeyObject } from 'node:crypto';
import { KeyServiceSettings } from '../config/key-service.env';

/** Keyed hash (HMAC-SHA256) of a whole key: what is stored and looked up, never the key itself. */
@Injectable()
export class KeyHasher {
  /** Imported once: every verification hashes, and importing a text secret per HMAC costs more than the HMAC. */
  private readonly secret: KeyObject;

  constructor(settings: KeyServiceSettings) {
    this.secret = createSecretKey(settings.KEY_HASH_SECRET, 'utf8');
  }

  hash(key: string): string {
    return createHmac('sha256', this.secret).update(key).digest('base64url');
  }

  /**
   * The document id of a key issued by key-service: 12 bytes of a keyed hash of the key (domain
   * separated from hash()), so verification finds the key by `_id`, the one lookup every store
   * answers from its primary index (hot lookups are by `_id`: see libs/mongo). Like
   * any key id it is shown to owners; without KEY_HASH_SECRET it says nothing about the key.
   */
  idOf(key: string): string {
    return createHmac('sha256', this.secret).update(`key-id:${key}`).digest('hex').slice(0, 24);
  }
}
