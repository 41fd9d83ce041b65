import { Injectable } from '@nestjs/common';
import { KeyServiceSettings } from '../config/key-service.env';
import { TokenSet } from './token-set';

/** The tokens internal services verify keys with (VERIFY_SERVICE_TOKENS). */
@Injectable()
export class ServiceTokens extends TokenSet {
  constructor(settings: KeyServiceSettings) {
    super(settings.VERIFY_SERVICE_TOKENS);
  }
}
