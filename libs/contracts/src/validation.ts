import { z } from 'zod';

export class InvalidMessageError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'InvalidMessageError';
  }
}

export function formatIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
}

/** Checks a value against its contract; throws InvalidMessageError naming each bad field. */
export function validate<S extends z.ZodTypeAny>(schema: S, data: unknown, context?: string): z.infer<S> {
  const result = schema.safeParse(data);
  if (!result.success) {
    throw new InvalidMessageError(context ? `${context}: ${formatIssues(result.error)}` : formatIssues(result.error));
  }
  return result.data;
}

/** Parses raw message bytes as JSON and validates them against their contract. */
export function parseMessage<S extends z.ZodTypeAny>(schema: S, raw: Buffer | string | null): z.infer<S> {
  if (raw === null) throw new InvalidMessageError('empty message');
  let json: unknown;
  try {
    json = JSON.parse(raw.toString());
  } catch {
    throw new InvalidMessageError('not JSON');
  }
  return validate(schema, json);
}
