import { z } from 'zod';

const defaultNotes = new WeakMap<z.ZodTypeAny, string>();

/** The default note of a secret whose default is public (production refuses to start with it). */
export const DEVELOPMENT_SECRET = 'a development value; required unless NODE_ENV is development or test';

/**
 * A setting whose default the README's settings table says in words: a public development secret
 * (printed, it would invite copying) or a default that depends on NODE_ENV.
 */
export function withDefaultNote<S extends z.ZodTypeAny>(schema: S, note: string): S {
  defaultNotes.set(schema, note);
  return schema;
}

/** The object schema under a service's refinements (`z.object(...).refine(...)`). */
export function objectShape(schema: z.ZodTypeAny): z.ZodRawShape {
  if (schema instanceof z.ZodObject) return schema.shape as z.ZodRawShape;
  if (schema instanceof z.ZodEffects) return objectShape(schema.innerType());
  throw new Error('settings schema must be a z.object, optionally refined');
}

/** The schema a default, optional, transform or pipe wraps. */
function innerOf(schema: z.ZodTypeAny): z.ZodTypeAny | undefined {
  if (schema instanceof z.ZodDefault || schema instanceof z.ZodOptional) return schema._def.innerType;
  if (schema instanceof z.ZodEffects) return schema.innerType();
  if (schema instanceof z.ZodPipeline) return schema._def.in;
  return undefined;
}

/** A setting's description, wherever along its chain `.describe()` was called. */
function descriptionOf(schema: z.ZodTypeAny | undefined): string | undefined {
  return schema && (schema.description ?? descriptionOf(innerOf(schema)));
}

/** The default a setting takes when unset, as its table row shows it. */
function defaultOf(schema: z.ZodTypeAny): string {
  const note = defaultNotes.get(schema);
  if (note) return note;
  if (schema instanceof z.ZodDefault) {
    const value = String(schema._def.defaultValue());
    return value === '' ? 'empty' : `\`${value}\``;
  }
  if (schema instanceof z.ZodOptional) return 'unset';
  const inner = innerOf(schema);
  return inner ? defaultOf(inner) : 'none: required';
}

/** What the README's settings table says of each setting of a schema: its description and default. */
export function settingDocs(schema: z.ZodTypeAny): Map<string, { description?: string; default: string }> {
  return new Map(
    Object.entries(objectShape(schema)).map(([name, setting]) => [
      name,
      { description: descriptionOf(setting as z.ZodTypeAny), default: defaultOf(setting as z.ZodTypeAny) },
    ]),
  );
}
