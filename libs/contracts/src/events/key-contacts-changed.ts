import { z } from 'zod';
import { emailList, isoDate, requestedFrom } from '../envelope';

export const KEY_CONTACTS_CHANGED = 'KeyContactsChanged';
/** Both the previous and the new contacts hear of the change. */
export const keyContactsChangedV1 = z.object({
  label: z.string().min(1),
  lastFive: z.string().length(5),
  previousContacts: emailList,
  contacts: emailList,
  expiresAt: isoDate,
  requestedFrom,
});
export type KeyContactsChangedPayload = z.infer<typeof keyContactsChangedV1>;
