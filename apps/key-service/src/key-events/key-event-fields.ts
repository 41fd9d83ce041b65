import { Owner } from '@keyward/contracts';
import { createHash } from 'node:crypto';

/** The owner as events carry it (a plain object, not the stored sub-document). */
export function ownerOf(key: { owner: Owner }): Owner {
  return { userId: key.owner.userId, email: key.owner.email, timeZone: key.owner.timeZone };
}

/**
 * The id of an event that happens once in a key's life (a revocation, a leak, a reminder stage,
 * the expiry), derived from what it is (key, what, expiry) rather than random: should two
 * conditional writes both win (see docs/stack.md), both events carry one id and consumers, which
 * dedupe by eventId, act once.
 */
export function onceEventId(keyId: string, what: string, expiresAt: Date): string {
  const h = createHash('sha256').update(`${keyId}|${what}|${expiresAt.toISOString()}`).digest('hex');
  const variant = ((parseInt(h[16], 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
