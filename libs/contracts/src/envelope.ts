import { z } from 'zod';
import { emailAddress } from './fields';

/** Who owns a key: enough for a consumer to address and localise an email without calling back. */
export const ownerSchema = z.object({
  userId: z.string().min(1),
  email: emailAddress,
  timeZone: z.string().min(1),
});
export type Owner = z.infer<typeof ownerSchema>;

/** Fields every key event carries; `eventId` is the idempotency key consumers dedupe by. */
export const envelopeFields = {
  eventId: z.string().uuid(),
  occurredAt: z.string().datetime({ offset: true }),
  keyId: z.string().min(1),
  owner: ownerSchema,
};

/**
 * The client address of the user's request that made a change (on events of changes a user asks
 * for; absent on those written before it was recorded). Old consumers drop it unread.
 */
export const requestedFrom = z.string().max(64).optional();

export const emailList = z.array(emailAddress).max(50);
export const isoDate = z.string().datetime({ offset: true });
