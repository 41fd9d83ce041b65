import { requestBody } from '@keyward/platform';
import { z } from 'zod';

export const closeAccountBody = requestBody({
  code: z
    .string({
      required_error: 'must be the 6-digit code from the email',
      invalid_type_error: 'must be the 6-digit code from the email',
    })
    .regex(/^\d{6}$/, 'must be the 6-digit code from the email')
    .describe('The 6-digit code emailed by POST /v1/account/closure-code'),
});
export type CloseAccountBody = z.output<typeof closeAccountBody>;
