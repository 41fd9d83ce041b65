import { documentedKeyLabel, keyLabel } from '@keyward/contracts';
import { documentedAs, requestBody } from '@keyward/platform';
import { z } from 'zod';

export const GRACE_HOURS_MAX = 168;

export const rotateKeyBody = requestBody({
  graceHours: z
    .number({ required_error: 'is required', invalid_type_error: 'must be a whole number of hours' })
    .int('must be a whole number of hours')
    .min(0, `must be 0 to ${GRACE_HOURS_MAX}`)
    .max(GRACE_HOURS_MAX, `must be 0 to ${GRACE_HOURS_MAX}`)
    .describe('How long the old key keeps working; 0 stops it at once'),
  label: documentedAs(
    keyLabel.describe(
      'Label of the new key; by default the old label with the rotation date, e.g. `prod (2026-11-27)`',
    ),
    documentedKeyLabel,
  ).optional(),
});
export type RotateKeyBody = z.output<typeof rotateKeyBody>;
