import { z } from 'zod';
import { emailList, isoDate, requestedFrom } from '../envelope';

export const KEY_REVOKED = 'KeyRevoked';

/**
 * Why a key was revoked: by its owner (absent in events written before causes existed), or
 * because it leaked, in which case a KeyLeaked event beside it tells its people, in one email.
 */
export const REVOCATION_CAUSES = ['owner', 'leak'] as const;
export type RevocationCause = (typeof REVOCATION_CAUSES)[number];

export const keyRevokedV1 = z.object({
  label: z.string().min(1),
  lastFive: z.string().length(5),
  contacts: emailList,
  revokedAt: isoDate,
  cause: z.enum(REVOCATION_CAUSES).optional(),
  requestedFrom,
  /**
   * The owner closed the account, revoking every key at once (cause `owner`). The key's contacts
   * are told the account is gone; it is the key's last event. Absent on other revocations; a
   * consumer that does not know the field reads an ordinary revocation by the owner.
   */
  accountClosed: z.literal(true).optional(),
});
export type KeyRevokedPayload = z.infer<typeof keyRevokedV1>;
