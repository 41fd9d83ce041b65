import { Injectable } from '@nestjs/common';
import { KeyServiceSettings } from '../config/key-service.env';
import { TokenGuard } from '../verification/service-token.guard';
import { TokenSet } from '../verification/token-set';

/** The tokens other scanners and people report leaked keys with (LEAK_REPORTER_TOKENS). */
@Injectable()
export class LeakReporterTokens extends TokenSet {
  constructor(settings: KeyServiceSettings) {
    super(settings.LEAK_REPORTER_TOKENS);
  }
}

/** Lets in requests that carry a token from LEAK_REPORTER_TOKENS; 401 otherwise. */
@Injectable()
export class LeakReporterGuard extends TokenGuard {
  constructor(tokens: LeakReporterTokens) {
    super(tokens);
  }
}
