import { createPrivateKey, createPublicKey, KeyObject, sign, verify } from 'node:crypto';
import { z } from 'zod';
import { AnyKeyEvent, parseKeyEvent } from './key-events';
import { InvalidMessageError } from './validation';

/**
 * Key events are signed by key-service (Ed25519 over the message bytes) and consumers believe
 * only what verifies: anyone who can write the key-events topic could otherwise email any address
 * in keyward's name, or pre-empt a real revocation or reminder by publishing its (derivable) event
 * id first. Consumers hold only public keys, so no consumer can forge an event either.
 */
export const KEY_EVENT_SIGNATURE_HEADER = 'keyward-signature';

/** A development key pair, public in this repository: refused unless NODE_ENV is development or test. */
export const DEV_KEY_EVENTS_SIGNING_KEY = 'dev:MC4CAQAwBQYDK2VwBCIEIKjIjKUwbwvx/D6aYljxOd5bwDHH8USi2YqKbcelM8G+';
export const DEV_KEY_EVENTS_VERIFY_KEY = 'dev:MCowBQYDK2VwAyEAhu+yVupLNzyHiwP7VCqwGnZzV6L7vwGEQT78CkFmcKo=';

export interface KeyEventSigner {
  id: string;
  privateKey: KeyObject;
}

/** Public keys by id: several, so the signing key can be rotated without refusing in-flight events. */
export type KeyEventVerifyKeys = ReadonlyMap<string, KeyObject>;

function split(entry: string): [string, Buffer] {
  const at = entry.indexOf(':');
  const id = entry.slice(0, at);
  if (at < 1 || !/^[A-Za-z0-9._-]{1,32}$/.test(id)) throw new Error(`"${entry.slice(0, 12)}…" is not id:base64`);
  return [id, Buffer.from(entry.slice(at + 1), 'base64')];
}

function ed25519(key: KeyObject, entry: string): KeyObject {
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`key "${split(entry)[0]}" is not an Ed25519 key`);
  return key;
}

/** `id:base64 PKCS#8 DER` of an Ed25519 private key. */
export function parseSigningKey(entry: string): KeyEventSigner {
  const [id, der] = split(entry.trim());
  return { id, privateKey: ed25519(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }), entry) };
}

/** `id:base64 SPKI DER` of an Ed25519 public key. */
export function parseVerifyKey(entry: string): [string, KeyObject] {
  const [id, der] = split(entry.trim());
  return [id, ed25519(createPublicKey({ key: der, format: 'der', type: 'spki' }), entry)];
}

/** A setting holding entries that `parse` accepts, comma-separated; each entry is checked at start-up. */
export const keyEntriesSetting = (developmentDefault: string, parse: (entry: string) => unknown, min = 1) =>
  z
    .string()
    .default(developmentDefault)
    .transform((text) =>
      text
        .split(',')
        .map((e) => e.trim())
        .filter(Boolean),
    )
    .superRefine((entries, ctx) => {
      if (entries.length < min) ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'at least one key' });
      for (const entry of entries) {
        try {
          parse(entry);
        } catch (error) {
          ctx.addIssue({ code: z.ZodIssueCode.custom, message: (error as Error).message });
        }
      }
    });

export function verifyKeysOf(entries: readonly string[]): KeyEventVerifyKeys {
  return new Map(entries.map(parseVerifyKey));
}

/** The header value that signs `value`: `<key id>.<base64url signature>`. */
export function signKeyEvent(value: Buffer | string, signer: KeyEventSigner): string {
  return `${signer.id}.${sign(null, Buffer.from(value), signer.privateKey).toString('base64url')}`;
}

/** Throws InvalidMessageError unless `value` carries a signature by one of `keys`. */
export function verifyKeyEventSignature(
  value: Buffer | null,
  header: Buffer | string | (Buffer | string)[] | undefined,
  keys: KeyEventVerifyKeys,
): void {
  const text = Array.isArray(header) ? undefined : header?.toString();
  if (!text) throw new InvalidMessageError('unsigned key event');
  const dot = text.indexOf('.');
  const key = keys.get(text.slice(0, Math.max(dot, 0)));
  if (!key) throw new InvalidMessageError('key event signed by an unknown key');
  if (!value || !verify(null, value, key, Buffer.from(text.slice(dot + 1), 'base64url'))) {
    throw new InvalidMessageError('key event signature does not verify');
  }
}

/** A key event from Kafka, believed only when signed by key-service: verified, then parsed and validated. */
export function parseSignedKeyEvent(
  message: { value: Buffer | null; headers?: Record<string, Buffer | string | (Buffer | string)[] | undefined> },
  keys: KeyEventVerifyKeys,
): AnyKeyEvent {
  verifyKeyEventSignature(message.value, message.headers?.[KEY_EVENT_SIGNATURE_HEADER], keys);
  return parseKeyEvent(message.value);
}
