import { z } from 'zod';
import { emailList, isoDate } from '../envelope';

export const KEY_EXPIRING = 'KeyExpiring';
export const keyExpiringV1 = z.object({
  label: z.string().min(1),
  lastFive: z.string().length(5),
  contacts: emailList,
  expiresAt: isoDate,
  /** The reminder stage, in days before expiry (e.g. 30, 14, 7, 3, 1). */
  stageDays: z.number().int().positive(),
  /** Whole days left when the reminder was recorded (can be below stageDays after downtime). */
  daysLeft: z.number().int().nonnegative(),
  /** True for the last reminder stage: the email says no other reminder follows. */
  finalReminder: z.boolean(),
});
export type KeyExpiringPayload = z.infer<typeof keyExpiringV1>;
