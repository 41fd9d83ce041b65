import { z } from 'zod';
import { emailList, isoDate, requestedFrom } from '../envelope';

export const KEY_CREATED = 'KeyCreated';
/** A key created on its own; a rotation's replacement is announced by KeyRotated instead (CHANGES.md). */
export const keyCreatedV1 = z.object({
  label: z.string().min(1),
  lastFive: z.string().length(5),
  contacts: emailList,
  createdAt: isoDate,
  expiresAt: isoDate,
  requestedFrom,
});
export type KeyCreatedPayload = z.infer<typeof keyCreatedV1>;
