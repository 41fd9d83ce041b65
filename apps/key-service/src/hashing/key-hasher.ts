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
}
