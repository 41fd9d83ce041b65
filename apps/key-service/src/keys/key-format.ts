import { KEY_ALPHABET, KEY_FORMAT_VERSION, keyChecksum } from '@keyward/contracts';
import { randomInt } from 'node:crypto';

/** Random characters of a v1 key's secret (~178 bits from the CSPRNG); the format is in libs/contracts. */
const RANDOM_LENGTH = 30;

export function generateKey(username: string): string {
  let random = '';
  for (let i = 0; i < RANDOM_LENGTH; i++) random += KEY_ALPHABET[randomInt(KEY_ALPHABET.length)];
  const body = `${username}_${KEY_FORMAT_VERSION}_${random}`;
  return body + keyChecksum(body);
}

export function lastFiveOf(key: string): string {
  return key.slice(-5);
}
