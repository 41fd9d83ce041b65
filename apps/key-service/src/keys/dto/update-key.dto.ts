import { requestBody } from '@keyward/platform';
import { z } from 'zod';
import { LeakResponse } from '../key.schema';

/** The settings of a key a user may change (label, contacts and validity have their own rules). */
export const updateKeyBody = requestBody({
  leakResponse: z
    .nativeEnum(LeakResponse, {
      errorMap: () => ({ message: 'must be revoke or notify' }),
    })
    .describe('When this key is reported leaked: `revoke` it at once (the default) or `notify` its people only'),
});
export type UpdateKeyBody = z.output<typeof updateKeyBody>;
