import { z } from 'zod';
import { emailList, isoDate } from '../envelope';

export const KEY_EXPIRED = 'KeyExpired';
export const keyExpiredV1 = z.object({
  label: z.string().min(1),
  lastFive: z.string().length(5),
  contacts: emailList,
  expiresAt: isoDate,
});
export type KeyExpiredPayload = z.infer<typeof keyExpiredV1>;
