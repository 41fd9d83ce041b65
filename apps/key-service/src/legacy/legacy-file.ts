import { formatIssues, LEGACY_KEY_MIN_LENGTH } from '@keyward/contracts';
import { z } from 'zod';
import { normalizeContacts } from '../keys/contacts';
import { givenEmailAddress } from '../users/email-address';
import { CONTACTS_MAX } from '../keys/dto/create-key.dto';

/** A key hash as KeyHasher writes it: base64url HMAC-SHA256 under KEY_HASH_SECRET. */
const KEY_HASH = /^[A-Za-z0-9_-]{43}$/;

/**
 * One owner and their pre-multi-key key, given as the key itself or its hash. Messages never
 * repeat the values they reject: a rejected `key` is still a secret.
 */
const legacyEntrySchema = z
  .object({
    email: givenEmailAddress,
    key: z
      .string()
      .min(LEGACY_KEY_MIN_LENGTH, `must be at least ${LEGACY_KEY_MIN_LENGTH} characters`)
      .max(512, 'must be at most 512 characters')
      .optional(),
    keyHash: z
      .string()
      .regex(KEY_HASH, 'must be the base64url HMAC-SHA256 of the key under KEY_HASH_SECRET (43 characters)')
      .optional(),
    contacts: z
      .array(givenEmailAddress)
      .max(CONTACTS_MAX, `can hold at most ${CONTACTS_MAX} email addresses`)
      .default([])
      .transform(normalizeContacts),
  })
  .strict()
  .refine((entry) => entry.key !== undefined || entry.keyHash !== undefined, {
    message: 'give the key or its keyHash',
    path: ['key'],
  });

export type LegacyEntry = z.infer<typeof legacyEntrySchema>;

export class LegacyFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LegacyFileError';
  }
}

/** Parses the whole file up front: one bad entry rejects the file, so nothing is half-imported. */
export function parseLegacyFile(text: string): LegacyEntry[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // JSON.parse's own message quotes the text around the error, which may be a key.
    throw new LegacyFileError('the file is not valid JSON');
  }
  const result = z.array(legacyEntrySchema).safeParse(json);
  if (!result.success) {
    throw new LegacyFileError(
      `the file is not a list of legacy keys (entries counted from 0): ${formatIssues(result.error)}`,
    );
  }
  return result.data;
}
