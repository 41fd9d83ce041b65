import { Injectable } from '@nestjs/common';
import { createHmac } from 'node:crypto';
import { KeyServiceSettings } from '../config/key-service.env';

/** Keyed hash (HMAC-SHA256) of a whole key: what is stored and looked up, never the key itself. */
@Injectable()
export class KeyHasher {
  private readonly secret: string;

  constructor(settings: KeyServiceSettings) {
    this.secret = settings.KEY_HASH_SECRET;
  }

  hash(key: string): string {
    return createHmac('sha256', this.secret).update(key).digest('base64url');
  }
}
