import { z } from 'zod';
import { FieldError, InvalidFieldsException, MAX_FIELD_ERRORS } from './problem-details';

// Request bodies checked by zod, apart from their OpenAPI side (validation.ts, which needs
// @nestjs/swagger): a listener without Nest (the internal verification worker) parses them too.

const MAX_NAME_LENGTH = 40;

const shorten = (name: string) => (name.length > MAX_NAME_LENGTH ? `${name.slice(0, MAX_NAME_LENGTH)}…` : name);

/**
 * A request body's object: unknown fields are refused. Field messages are written as what the
 * value must be ("must be text"); the field's name is put in front of them.
 */
export const requestBody = <T extends z.ZodRawShape>(shape: T) =>
  z.object(shape, { required_error: 'must be a JSON object', invalid_type_error: 'must be a JSON object' }).strict();

function fieldError(issue: z.ZodIssue): FieldError {
  if (issue.code === 'unrecognized_keys') {
    // Every unknown name counts, but only the first is named: the body chose them all.
    const field = shorten(issue.keys[0]);
    const others = issue.keys.length - 1;
    return {
      field,
      message: others ? `${field} and ${others} more unknown fields are not accepted` : `${field} is not accepted`,
    };
  }
  // A bad value in a list is reported as the list, so a form shows one message beside it.
  const path = typeof issue.path.at(-1) === 'number' ? issue.path.slice(0, -1) : issue.path;
  const field = path.map((part) => shorten(String(part))).join('.') || 'body';
  return { field, message: `${field} ${issue.message}` };
}

/** Field errors for a failed parse, each once, at most MAX_FIELD_ERRORS; values are never echoed. */
export function fieldErrors(error: z.ZodError): FieldError[] {
  const errors = new Map<string, FieldError>();
  for (const issue of error.issues) {
    const e = fieldError(issue);
    errors.set(`${e.field}\n${e.message}`, e);
    if (errors.size === MAX_FIELD_ERRORS) break;
  }
  return [...errors.values()];
}

/** The body parsed by `schema`, or a 400 naming the fields at fault. No body reads as `{}`. */
export function parseBody<S extends z.ZodTypeAny>(schema: S, body: unknown): z.output<S> {
  const result = schema.safeParse(body ?? {});
  if (!result.success) throw new InvalidFieldsException(fieldErrors(result.error));
  return result.data as z.output<S>;
}
