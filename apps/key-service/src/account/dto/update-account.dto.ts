import { timeZoneName } from '@keyward/contracts';
import { documentedAs, requestBody } from '@keyward/platform';
import { z } from 'zod';

/**
 * The zone in its proper case ("europe/london" → "Europe/London"). A name Intl resolves to another
 * one (Asia/Kolkata to its older alias Asia/Calcutta) is kept as the user wrote it: both are valid.
 */
function properCase(name: string): string {
  const resolved = new Intl.DateTimeFormat('en', { timeZone: name }).resolvedOptions().timeZone;
  return resolved.toLowerCase() === name.toLowerCase() ? resolved : name;
}

/**
 * The zones the OpenAPI document lists: this runtime's canonical names and UTC. The rule also takes
 * their aliases and any case, which no pattern can say; a client sending a listed name is never refused.
 */
const LISTED_ZONES = z.enum(['UTC', ...Intl.supportedValuesOf('timeZone')] as [string, ...string[]]);

/** The account settings a user may change. */
export const updateAccountBody = requestBody({
  timeZone: documentedAs(
    timeZoneName
      .transform(properCase)
      .describe('IANA time zone name (e.g. `Europe/London`) every time in emails and Settings is shown in'),
    LISTED_ZONES,
  ),
});
export type UpdateAccountBody = z.output<typeof updateAccountBody>;
