import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { InvalidMessageError } from './validation';

/**
 * Secrets that must cross Kafka (which keeps what it carries) travel sealed: AES-256-GCM under a
 * key derived from a secret the two ends share. Output is base64url(iv ‖ ciphertext ‖ tag).
 */
const sealingKey = (secret: string) => createHash('sha256').update(secret).digest();

export function seal(plain: string, secret: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', sealingKey(secret), iv);
  return Buffer.concat([iv, cipher.update(plain, 'utf8'), cipher.final(), cipher.getAuthTag()]).toString('base64url');
}

/** Opens a sealed value; throws InvalidMessageError naming `field` when it is altered or sealed under another secret. */
export function unseal(sealedText: string, secret: string, field: string, secretName: string): string {
  const sealed = Buffer.from(sealedText, 'base64url');
  if (sealed.length < 12 + 16 + 1) throw new InvalidMessageError(`${field}: too short`);
  try {
    const decipher = createDecipheriv('aes-256-gcm', sealingKey(secret), sealed.subarray(0, 12));
    decipher.setAuthTag(sealed.subarray(sealed.length - 16));
    return Buffer.concat([decipher.update(sealed.subarray(12, sealed.length - 16)), decipher.final()]).toString('utf8');
  } catch {
    throw new InvalidMessageError(`${field}: cannot be opened with this service’s ${secretName}`);
  }
}
