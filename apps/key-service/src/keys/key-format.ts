import { randomInt } from 'node:crypto';
import { crc32 } from 'node:zlib';

/**
 * Key format `<username>_v1_<secret>`. The secret is 30 random base62 characters (~178 bits from
 * the CSPRNG) followed by a 6-character base62 CRC32 of everything before it, as GitHub's tokens
 * do, so a leak scanner can tell a real key from noise without a lookup.
 */
export const KEY_FORMAT_VERSION = 'v1';
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const RANDOM_LENGTH = 30;
const CHECKSUM_LENGTH = 6;
const KEY_PATTERN = /^([a-z0-9]+)_v1_([0-9A-Za-z]{36})$/;

/** The owner's handle: the login email's local part, letters and digits only, lowercased. */
export function usernameFromEmail(email: string): string {
  const at = email.lastIndexOf('@');
  const local = at === -1 ? email : email.slice(0, at);
  return local.toLowerCase().replace(/[^a-z0-9]/g, '') || 'user';
}

export function generateKey(username: string): string {
  let random = '';
  for (let i = 0; i < RANDOM_LENGTH; i++) random += BASE62[randomInt(BASE62.length)];
  const body = `${username}_${KEY_FORMAT_VERSION}_${random}`;
  return body + checksum(body);
}

/** True when the text has the key shape and its checksum matches. No database involved. */
export function hasValidChecksum(key: string): boolean {
  if (!KEY_PATTERN.test(key)) return false;
  const body = key.slice(0, -CHECKSUM_LENGTH);
  return checksum(body) === key.slice(-CHECKSUM_LENGTH);
}

export function lastFiveOf(key: string): string {
  return key.slice(-5);
}

function checksum(body: string): string {
  let n = crc32(body);
  let out = '';
  for (let i = 0; i < CHECKSUM_LENGTH; i++) {
    out = BASE62[n % 62] + out;
    n = Math.floor(n / 62);
  }
  return out;
}
