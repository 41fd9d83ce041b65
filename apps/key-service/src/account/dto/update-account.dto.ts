import { timeZoneName } from '@keyward/contracts';
import { requestBody } from '@keyward/platform';
import { z } from 'zod';

/**
 * The zone in its proper case ("europe/london" → "Europe/London"). A name Intl resolves to another
 * one (Asia/Kolkata to its older alias Asia/Calcutta) is kept as the user wrote it: both are valid.
 */
function properCase(name: string): string {
  const resolved = new Intl.DateTimeFormat('en', { timeZone: name }).resolvedOptions().timeZone;
  return resolved.toLowerCase() === name.toLowerCase() ? resolved : name;
}

/** The account settings a user may change. */
export const updateAccountBody = requestBody({
  timeZone: timeZoneName
    .transform(properCase)
    .describe('IANA time zone name (e.g. `Europe/London`) every time in emails and Settings is shown in'),
});
export type UpdateAccountBody = z.output<typeof updateAccountBody>;
