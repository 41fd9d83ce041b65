import { documentedKeyLabel, EMAIL_MAX_LENGTH, emailAddress, keyLabel } from '@keyward/contracts';
import { documentedAs, requestBody } from '@keyward/platform';
import { z } from 'zod';
import { normalizeContacts } from '../contacts';

export const CONTACTS_MAX = 10;
const SHOWN_MAX_LENGTH = 40;

const shown = (address: string) =>
  address.length > SHOWN_MAX_LENGTH ? `${address.slice(0, SHOWN_MAX_LENGTH)}…` : address;

/**
 * 1 to CONTACTS_MAX addresses, stored trimmed, lower-cased and deduplicated; each must pass the
 * same email rule as the events they end up in. The message names the bad addresses so a form
 * can show which (at most CONTACTS_MAX of them, each cut short).
 */
export const contactList = z
  .array(
    // Checked below, after normalising, so one message can name every bad address.
    documentedAs(
      z
        .string({ invalid_type_error: 'must hold only email addresses' })
        .max(EMAIL_MAX_LENGTH, 'must hold only valid email addresses'),
      emailAddress,
    ),
    {
      required_error: 'must hold at least one email address',
      invalid_type_error: 'must be a list of email addresses',
    },
  )
  .min(1, 'must hold at least one email address')
  .max(CONTACTS_MAX, `can hold at most ${CONTACTS_MAX} email addresses`)
  .transform(normalizeContacts)
  .superRefine((contacts, ctx) => {
    const bad = contacts.filter((c) => !emailAddress.safeParse(c).success).map(shown);
    if (bad.length)
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        message: `must hold only valid email addresses (${bad.join(', ')} ${bad.length === 1 ? 'is' : 'are'} not)`,
      });
  })
  .describe(`1 to ${CONTACTS_MAX} email addresses`);

export const contactsBody = requestBody({ contacts: contactList });
export type ContactsBody = z.output<typeof contactsBody>;

export const createKeyBody = requestBody({
  label: documentedAs(keyLabel.describe('Permanent; unique on the account'), documentedKeyLabel),
  contacts: contactList,
});
export type CreateKeyBody = z.output<typeof createKeyBody>;
