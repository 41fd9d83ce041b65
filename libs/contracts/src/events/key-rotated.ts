import { z } from 'zod';
import { emailList, isoDate, requestedFrom } from '../envelope';

export const KEY_ROTATED = 'KeyRotated';
/**
 * Emitted for the old key; it stays valid until `oldKeyExpiresAt` (the grace period's end). It is
 * also the only event about the replacement (`new*`, same contacts): no KeyCreated is emitted for
 * a rotation's new key (libs/contracts/CHANGES.md).
 */
export const keyRotatedV1 = z.object({
  label: z.string().min(1),
  lastFive: z.string().length(5),
  contacts: emailList,
  oldKeyExpiresAt: isoDate,
  newKeyId: z.string().min(1),
  newLabel: z.string().min(1),
  newLastFive: z.string().length(5),
  newExpiresAt: isoDate,
  requestedFrom,
});
export type KeyRotatedPayload = z.infer<typeof keyRotatedV1>;
