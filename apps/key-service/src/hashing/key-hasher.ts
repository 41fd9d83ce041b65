import { Injectable } from '@nestjs/common';
import { KeyServiceSettings } from '../config/key-service.env';
import { KeyDigests } from './key-digests';

/** KeyDigests under KEY_HASH_SECRET, for injection. */
@Injectable()
export class KeyHasher extends KeyDigests {
  constructor(settings: KeyServiceSettings) {
    super(settings.KEY_HASH_SECRET);
  }
}
