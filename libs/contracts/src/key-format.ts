import { crc32 } from 'node:zlib';

/**
 * The API key format, shared by key-service (which makes keys) and every verifier (which rejects
 * noise before any lookup or Kafka round trip). A v1 key is `<username>_v1_<secret>`: 30 random
 * base62 characters then a 6-character base62 CRC32 of everything before it, as GitHub's tokens
 * do. Keys imported from before v1 (legacy) have no such shape and no checksum.
 */
export const KEY_FORMAT_VERSION = 'v1';
export const KEY_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const CHECKSUM_LENGTH = 6;
const V1_KEY = /^[a-z0-9]+_v1_[0-9A-Za-z]{36}$/;
/** The shortest legacy key the import accepts: anything shorter cannot be a key of any kind. */
export const LEGACY_KEY_MIN_LENGTH = 16;

/** The checksum a v1 key ends in, of everything before it. */
export function keyChecksum(body: string): string {
  let n = crc32(body);
  let out = '';
  for (let i = 0; i < CHECKSUM_LENGTH; i++) {
    out = KEY_ALPHABET[n % 62] + out;
    n = Math.floor(n / 62);
  }
  return out;
}

/**
 * True when the text alone says no key can match it: a v1-shaped key whose checksum is wrong, or
 * text too short for any key. Such text is answered `unknown` at no cost. Anything else, legacy
 * keys included, is looked up by hash.
 */
export function isNotAKey(text: string): boolean {
  if (V1_KEY.test(text)) return keyChecksum(text.slice(0, -CHECKSUM_LENGTH)) !== text.slice(-CHECKSUM_LENGTH);
  return text.length < LEGACY_KEY_MIN_LENGTH;
}
