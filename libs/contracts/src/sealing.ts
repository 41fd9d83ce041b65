import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { InvalidMessageError } from './validation';

/**
 * Secrets that cross Kafka (which keeps what it carries, and which more parties can write than
 * should read) travel sealed: AES-256-GCM with associated data. The associated data names what
 * the sealed value is for (a purpose, then the fields that bind it: a recipient, a request id, a
 * topic, a time), so a sealed value moved into another message, re-addressed or replayed to
 * another request no longer opens. Sealed text is `<keyId>.<base64url(iv ‖ ciphertext ‖ tag)>`:
 * the key id says which key of a keyring to open it with, so keys can be rotated.
 */
export interface SealingKey {
  /** Names the key in sealed text; letters, digits, `_` and `-`. */
  id: string;
  /** 32 bytes (AES-256). */
  key: Buffer;
}

const KEY_ID = /^[A-Za-z0-9_-]{1,64}$/;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * A key derived from a shared secret setting (such as LOGIN_CODE_SEALING_KEY), with an id derived
 * from it too, so both ends name the same key without configuring an id.
 */
export function sealingKeyFromSecret(secret: string): SealingKey {
  const key = createHash('sha256').update(secret).digest();
  return { id: createHash('sha256').update(key).digest('base64url').slice(0, 8), key };
}

/**
 * Parses `id:base64key,id:base64key,…` (standard or URL-safe base64 of 32 random bytes, e.g.
 * `openssl rand -base64 32`); throws an Error naming the bad entry (never its key).
 */
export function parseSealingKeys(text: string): SealingKey[] {
  const keys = text
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry, index) => {
      const colon = entry.indexOf(':');
      const id = colon === -1 ? '' : entry.slice(0, colon);
      if (!KEY_ID.test(id))
        throw new Error(`entry ${index}: expected <id>:<base64 key>, the id in letters, digits, _ or -`);
      const key = Buffer.from(entry.slice(colon + 1), 'base64');
      if (key.length !== 32) throw new Error(`entry ${index} (${id}): the key must be 32 bytes in base64`);
      return { id, key };
    });
  if (keys.length === 0) throw new Error('expected at least one <id>:<base64 key>');
  const ids = keys.map((k) => k.id);
  const repeated = ids.find((id, i) => ids.indexOf(id) !== i);
  if (repeated) throw new Error(`key id ${repeated} is given twice`);
  return keys;
}

/** Associated data: the purpose then the binding fields, JSON-encoded so no two lists read alike. */
const associatedData = (context: readonly string[]) => Buffer.from(JSON.stringify(context), 'utf8');

export function seal(plain: string, key: SealingKey, context: readonly string[]): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key.key, iv);
  cipher.setAAD(associatedData(context));
  const sealed = Buffer.concat([iv, cipher.update(plain, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return `${key.id}.${sealed.toString('base64url')}`;
}

/** The key id a sealed text names, or undefined when it names none. */
export function sealedKeyId(sealedText: string): string | undefined {
  const id = sealedText.slice(0, sealedText.indexOf('.'));
  return KEY_ID.test(id) ? id : undefined;
}

/**
 * Opens a sealed value with the key it names, if `keys` holds it, and the same context it was
 * sealed with. Throws InvalidMessageError naming `field` otherwise: an unknown key id, an altered
 * value, or a value sealed for another message (another recipient, request, topic or time).
 */
export function unseal(
  sealedText: string,
  keys: readonly SealingKey[],
  context: readonly string[],
  field: string,
): string {
  const id = sealedKeyId(sealedText);
  if (id === undefined) throw new InvalidMessageError(`${field}: names no key`);
  const key = keys.find((k) => k.id === id);
  if (!key) throw new InvalidMessageError(`${field}: sealed under key ${id}, which this service does not hold`);
  const sealed = Buffer.from(sealedText.slice(id.length + 1), 'base64url');
  if (sealed.length < IV_BYTES + TAG_BYTES + 1) throw new InvalidMessageError(`${field}: too short`);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key.key, sealed.subarray(0, IV_BYTES));
    decipher.setAAD(associatedData(context));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    return Buffer.concat([
      decipher.update(sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES)),
      decipher.final(),
    ]).toString('utf8');
  } catch {
    throw new InvalidMessageError(`${field}: cannot be opened with key ${id}: altered, or sealed for another message`);
  }
}
