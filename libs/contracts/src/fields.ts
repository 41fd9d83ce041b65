import { z } from 'zod';

/**
 * Field rules shared by key-service's HTTP requests and the messages built from them, so a value
 * the API accepts can never fail later when its event is built. Messages say what the value must
 * be without naming the field: a request error puts the field name in front, a message error the
 * path.
 */

export const EMAIL_MAX_LENGTH = 254;

/** An email address as every keyward request and message accepts it. */
export const emailAddress = z
  .string({ required_error: 'is required', invalid_type_error: 'must be text' })
  .max(EMAIL_MAX_LENGTH, `must be at most ${EMAIL_MAX_LENGTH} characters`)
  .email('must be a valid email address');

export const LABEL_MAX_LENGTH = 64;

/**
 * Printable characters only. Labels reach email subjects and the web app, where control, line
 * break, bidi (e.g. U+202E) and zero-width characters could hide or reorder what a reader sees.
 */
export const PRINTABLE_TEXT = /^[^\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]*$/u;

const LABEL_LENGTH = `must be 1 to ${LABEL_MAX_LENGTH} characters`;

/** Characters as JSON Schema's maxLength counts them, code points: an emoji is one, not two UTF-16 units. */
const characters = (text: string) => [...text].length;

/**
 * A label as a user gives it for a new key: trimmed, 1 to LABEL_MAX_LENGTH printable characters.
 * Events carry labels as stored, some older than this rule, so their payloads take any label.
 * Request bodies are documented by documentedKeyLabel: zod's max() counts UTF-16 units, and so
 * refused labels of emoji the OpenAPI document allows.
 */
export const keyLabel = z
  .string({ required_error: 'is required', invalid_type_error: 'must be text' })
  .trim()
  .min(1, LABEL_LENGTH)
  // Always true once trimmed and non-empty; it tells the OpenAPI document a blank label is refused.
  .regex(/\S/, LABEL_LENGTH)
  .regex(PRINTABLE_TEXT, 'must hold only printable characters (no control, bidi or zero-width characters)')
  .refine((label) => characters(label) <= LABEL_MAX_LENGTH, LABEL_LENGTH);

/** keyLabel as the OpenAPI document states it (maxLength in code points, as keyLabel counts). */
export const documentedKeyLabel = z.string().min(1).max(LABEL_MAX_LENGTH).regex(/\S/).regex(PRINTABLE_TEXT);

/** A key id in its one spelling: the key's MongoDB ObjectId in lower-case hex. */
export const KEY_ID_PATTERN = '^[0-9a-f]{24}$';
export const canonicalKeyId = z.string().regex(new RegExp(KEY_ID_PATTERN), 'must be a key id');

const TIME_ZONE_MESSAGE = 'must be an IANA time zone name, such as Europe/London';

/** Whether this runtime's time zone data knows `name` (any case; aliases such as Asia/Calcutta included). */
export function isKnownTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/**
 * An IANA time zone name ("Europe/London", "UTC"), as the owner's zone that every time in emails
 * and Settings is shown in. Intl also takes offsets ("+08:00"), which are not zones: their clock
 * never follows summer time, so only the name's spelling is accepted.
 */
export const timeZoneName = z
  .string({ required_error: 'is required', invalid_type_error: 'must be text' })
  .max(64, TIME_ZONE_MESSAGE)
  .regex(/^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/, TIME_ZONE_MESSAGE)
  .refine(isKnownTimeZone, TIME_ZONE_MESSAGE);
