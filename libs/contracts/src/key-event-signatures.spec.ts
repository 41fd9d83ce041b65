import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  DEV_KEY_EVENTS_SIGNING_KEY,
  DEV_KEY_EVENTS_VERIFY_KEY,
  parseSigningKey,
  signKeyEvent,
  verifyKeyEventSignature,
  verifyKeysOf,
} from './key-event-signatures';
import { InvalidMessageError } from './validation';

const signer = parseSigningKey(DEV_KEY_EVENTS_SIGNING_KEY);
const keys = verifyKeysOf([DEV_KEY_EVENTS_VERIFY_KEY]);
const value = Buffer.from('{"type":"KeyCreated"}');
const refused = (reason: string) => (error: unknown) => error instanceof InvalidMessageError && error.reason === reason;

describe('key event signatures', () => {
  it('verifies what the development key signed, under its id', () => {
    const header = signKeyEvent(value, signer);
    assert.match(header, /^dev\.[A-Za-z0-9_-]{86}$/);
    verifyKeyEventSignature(value, header, keys);
  });

  it('refuses unsigned, unknown-key, other-key and altered messages', () => {
    const other = { id: 'dev', privateKey: generateKeyPairSync('ed25519').privateKey };
    assert.throws(() => verifyKeyEventSignature(value, undefined, keys), refused('unsigned key event'));
    const unknown = signKeyEvent(value, { ...signer, id: 'old' });
    assert.throws(() => verifyKeyEventSignature(value, unknown, keys), refused('key event signed by an unknown key'));
    const forged = signKeyEvent(value, other);
    assert.throws(() => verifyKeyEventSignature(value, forged, keys), refused('key event signature does not verify'));
    const altered = Buffer.from('{"type":"KeyRevoked"}');
    assert.throws(
      () => verifyKeyEventSignature(altered, signKeyEvent(value, signer), keys),
      refused('key event signature does not verify'),
    );
  });

  it('refuses keys that are not Ed25519 or not id:base64', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'der' });
    assert.throws(() => parseSigningKey(`a:${rsa.toString('base64')}`), /not an Ed25519 key/);
    assert.throws(() => parseSigningKey('no-id-here'), /not id:base64/);
  });
});
