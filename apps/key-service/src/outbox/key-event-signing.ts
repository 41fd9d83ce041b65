import { Injectable } from '@nestjs/common';
import { KeyEventSigner, KeyEventVerifyKeys, parseSigningKey, signKeyEvent, verifyKeysOf } from '@keyward/contracts';
import { createPublicKey } from 'node:crypto';
import { KeyServiceSettings } from '../config/key-service.env';

/**
 * key-service's key-event signature: the relay signs every key event it publishes, and
 * key-service's own consumers believe those signed by its current key or by an earlier one still
 * listed in KEY_EVENTS_VERIFY_KEYS (a rotation leaves in-flight events verifiable).
 */
@Injectable()
export class KeyEventSigning {
  private readonly signer: KeyEventSigner;
  readonly verifyKeys: KeyEventVerifyKeys;

  constructor(settings: KeyServiceSettings) {
    this.signer = parseSigningKey(settings.KEY_EVENTS_SIGNING_KEY);
    this.verifyKeys = new Map([
      ...verifyKeysOf(settings.KEY_EVENTS_VERIFY_KEYS),
      [this.signer.id, createPublicKey(this.signer.privateKey)],
    ]);
  }

  sign(value: Buffer | string): string {
    return signKeyEvent(value, this.signer);
  }
}
