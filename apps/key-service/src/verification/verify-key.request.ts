import { requestBody } from '@keyward/platform/http/request-body';
import { z } from 'zod';

export const KEY_MAX_LENGTH = 256;
/** A verification body is one key: 1 KB is room for it and nothing else, on both listeners. */
export const VERIFY_BODY_LIMIT = 1024;

/** The body of `POST /v1/keys/verify`, on the public port and the internal listener alike. */
export const verifyKeyBody = requestBody({
  key: z
    .string({ required_error: 'is required', invalid_type_error: 'must be text' })
    .max(KEY_MAX_LENGTH, `must be at most ${KEY_MAX_LENGTH} characters`)
    .describe('The full key, as the caller received it'),
});
