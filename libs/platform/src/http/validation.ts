import { Body, PipeTransform, Query } from '@nestjs/common';
import { ApiBody, ApiQuery } from '@nestjs/swagger';
import type { SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { z } from 'zod';
import { zodToJsonSchema } from 'zod-to-json-schema';
import { portablePattern } from './portable-pattern';
import { parseBody } from './request-body';

export class ZodValidationPipe<S extends z.ZodTypeAny> implements PipeTransform<unknown, z.output<S>> {
  constructor(private readonly schema: S) {}

  transform(value: unknown): z.output<S> {
    return parseBody(this.schema, value);
  }
}

/** Schemas whose document is another schema's: see documentedAs. */
const documentedSchemas = new WeakMap<z.ZodTypeDef, z.ZodTypeAny>();

/**
 * Documents `schema` as `documented` says. For a value a schema normalises before it checks it
 * (contacts are trimmed and lower-cased, then held to the email rule), the document names the rule
 * a client must meet; the server is never stricter than it.
 */
export function documentedAs<S extends z.ZodTypeAny>(schema: S, documented: z.ZodTypeAny): S {
  documentedSchemas.set(schema._def, documented);
  return schema;
}

type JsonSchema = { [name: string]: unknown };

/**
 * The JSON Schema of what a request may send, for the OpenAPI document: what the schema accepts
 * as input (before its transforms), emails as zod's own pattern (not `format: email`, whose RFC
 * rule accepts addresses zod refuses), and patterns rewritten so every regex engine reads them.
 */
export function openApiSchemaOf(schema: z.ZodTypeAny): SchemaObject {
  // zod-to-json-schema declares its parameter with zod's own types, which TypeScript cannot
  // compare with ours in reasonable depth; the value is the same zod schema either way.
  const convert = zodToJsonSchema as (schema: unknown, options: object) => JsonSchema;
  const converted = convert(schema, {
    target: 'openApi3',
    $refStrategy: 'none',
    effectStrategy: 'input',
    emailStrategy: 'pattern:zod',
    postProcess: (json: JsonSchema | undefined, def: z.ZodTypeDef) => {
      const documented = documentedSchemas.get(def);
      if (!documented) return json;
      return { ...openApiSchemaOf(documented), ...(json?.description ? { description: json.description } : {}) };
    },
  });
  return withPortablePatterns(converted) as SchemaObject;
}

function withPortablePatterns(json: unknown): unknown {
  if (Array.isArray(json)) return json.map(withPortablePatterns);
  if (json === null || typeof json !== 'object') return json;
  return Object.fromEntries(
    Object.entries(json).map(([name, value]) => [
      name,
      name === 'pattern' && typeof value === 'string' ? portablePattern(value) : withPortablePatterns(value),
    ]),
  );
}

/**
 * The request body, validated by `schema` (a 400 naming the fields otherwise) and described by
 * the same schema in the OpenAPI document, so the two cannot drift apart.
 */
export function ValidBody(schema: z.ZodTypeAny): ParameterDecorator {
  return validatedParameter(ApiBody({ schema: openApiSchemaOf(schema) }), Body(new ZodValidationPipe(schema)));
}

/**
 * The query string, validated by `schema` (a z.object; a 400 naming the parameter otherwise) and
 * each parameter described by it in the OpenAPI document.
 */
export function ValidQuery(schema: z.AnyZodObject): ParameterDecorator {
  const { properties = {}, required = [] } = openApiSchemaOf(schema);
  const documents = Object.entries(properties).map(([name, parameter]) =>
    ApiQuery({ name, required: required.includes(name), schema: parameter as SchemaObject }),
  );
  const document: MethodDecorator = (target, method, descriptor) => {
    for (const apply of documents) apply(target, method, descriptor);
  };
  return validatedParameter(document, Query(new ZodValidationPipe(schema)));
}

function validatedParameter(document: MethodDecorator, validate: ParameterDecorator): ParameterDecorator {
  return (target, method, index) => {
    if (method === undefined) throw new Error('a validated parameter belongs on a route handler');
    document(target, method, Object.getOwnPropertyDescriptor(target, method)!);
    validate(target, method, index);
  };
}
