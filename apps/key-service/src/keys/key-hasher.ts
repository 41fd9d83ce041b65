import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { createHmac } from 'node:crypto';

/** Keyed hash (HMAC-SHA256) of a whole key: what is stored and looked up, never the key itself. */
@Injectable()
export class KeyHasher {
  private readonly secret: string;

  constructor(config: ConfigService) {
    this.secret = config.getOrThrow<string>('KEY_HASH_SECRET');
  }

  hash(key: string): string {
    return createHmac('sha256', this.secret).update(key).digest('base64url');
  }
}
