import { requestBody } from '@keyward/platform';
import { z } from 'zod';
import { givenEmailAddress } from '../../users/email-address';

export const requestCodeBody = requestBody({ email: givenEmailAddress });
export type RequestCodeBody = z.output<typeof requestCodeBody>;

export const loginBody = requestBody({
  email: givenEmailAddress,
  otp: z
    .string({
      required_error: 'must be the 6-digit code from the email',
      invalid_type_error: 'must be the 6-digit code from the email',
    })
    .regex(/^\d{6}$/, 'must be the 6-digit code from the email')
    .describe('The 6-digit code from the email'),
});
export type LoginBody = z.output<typeof loginBody>;
