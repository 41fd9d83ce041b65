import { z } from 'zod';
import { emailList, isoDate } from '../envelope';

export const KEY_REVOKED = 'KeyRevoked';
export const keyRevokedV1 = z.object({
  label: z.string().min(1),
  lastFive: z.string().length(5),
  contacts: emailList,
  revokedAt: isoDate,
});
export type KeyRevokedPayload = z.infer<typeof keyRevokedV1>;
