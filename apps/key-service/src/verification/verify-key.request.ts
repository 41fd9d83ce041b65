import { InvalidFieldsException } from '@keyward/platform';
import { z } from 'zod';

export const KEY_MAX_LENGTH = 256;

const verifyKeyBody = z
  .object({
    key: z
      .string({ required_error: 'key is required', invalid_type_error: 'key must be text' })
      .max(KEY_MAX_LENGTH, `key must be at most ${KEY_MAX_LENGTH} characters`),
  })
  .strict('only key is accepted');

/** The key from a `POST /v1/keys/verify` body; a 400 naming the field otherwise. */
export function keyFromVerifyBody(body: unknown): string {
  const result = verifyKeyBody.safeParse(body ?? {});
  if (result.success) return result.data.key;
  throw new InvalidFieldsException(
    result.error.issues.map((issue) => ({
      field: issue.path.join('.') || (issue.code === 'unrecognized_keys' ? issue.keys.join(', ') : 'body'),
      message: issue.code === 'unrecognized_keys' ? `${issue.keys.join(', ')}: ${issue.message}` : issue.message,
    })),
  );
}
