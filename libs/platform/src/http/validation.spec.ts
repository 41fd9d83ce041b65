import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { InvalidFieldsException, MAX_FIELD_ERRORS } from './problem-details';
import { parseBody, requestBody } from './request-body';
import { openApiSchemaOf, ZodValidationPipe } from './validation';

const body = requestBody({
  name: z.string({ required_error: 'is required', invalid_type_error: 'must be text' }).max(8, 'must be short'),
  tags: z
    .array(z.string({ invalid_type_error: 'must be text' }))
    .max(3, 'must hold at most 3 tags')
    .optional(),
});

function refusal(value: unknown): InvalidFieldsException {
  try {
    parseBody(body, value);
  } catch (error) {
    assert.ok(error instanceof InvalidFieldsException);
    return error;
  }
  assert.fail('expected a 400');
}

describe('request body validation', () => {
  it('gives the parsed body', () => {
    assert.deepEqual(new ZodValidationPipe(body).transform({ name: 'a', tags: ['x'] }), { name: 'a', tags: ['x'] });
  });

  it('names the field in front of what it must be', () => {
    assert.deepEqual(refusal({ name: 42 }).errors, [{ field: 'name', message: 'name must be text' }]);
  });

  it('reads no body as an empty object, so the missing fields are named', () => {
    assert.deepEqual(refusal(undefined).errors, [{ field: 'name', message: 'name is required' }]);
    assert.deepEqual(refusal(null).errors, [{ field: 'name', message: 'name is required' }]);
  });

  it('refuses a body that is not an object', () => {
    assert.deepEqual(refusal(['name']).errors, [{ field: 'body', message: 'body must be a JSON object' }]);
  });

  it('answers thousands of unknown fields with one error naming the first, cut short', () => {
    const hostile: Record<string, number> = { name: 1 as unknown as number };
    for (let i = 0; i < 5000; i++) hostile[`${'p'.repeat(100)}${i}`] = i;
    const { errors } = refusal(hostile);
    assert.ok(errors.length <= 2, JSON.stringify(errors).slice(0, 300));
    const unknown = errors.find((e) => e.message.includes('not accepted'));
    assert.ok(unknown);
    assert.ok(unknown.field.length <= 41, unknown.field);
    assert.match(unknown.message, /and 4999 more unknown fields are not accepted/);
    assert.ok(JSON.stringify(errors).length < 500);
  });

  it('names an object in a list by its place', () => {
    const batch = requestBody({
      items: z.array(z.object({ id: z.number({ invalid_type_error: 'must be a number' }) })),
    });
    try {
      parseBody(batch, { items: [{ id: 1 }, { id: 'x' }] });
      assert.fail('expected a 400');
    } catch (error) {
      assert.ok(error instanceof InvalidFieldsException);
      assert.deepEqual(error.errors, [{ field: 'items.1.id', message: 'items.1.id must be a number' }]);
    }
  });

  it('reports bad list entries once, as the list', () => {
    assert.deepEqual(refusal({ name: 'a', tags: Array.from({ length: 50 }, () => 7) }).errors, [
      { field: 'tags', message: 'tags must hold at most 3 tags' },
      { field: 'tags', message: 'tags must be text' },
    ]);
  });

  it(`returns at most ${MAX_FIELD_ERRORS} field errors and never the values`, () => {
    const secret = 'hunter2-secret-value';
    const wide = requestBody(
      Object.fromEntries(
        Array.from({ length: 30 }, (_, i) => [`f${i}`, z.number({ invalid_type_error: 'must be a number' })]),
      ),
    );
    const bad = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`f${i}`, secret]));
    try {
      parseBody(wide, bad);
      assert.fail('expected a 400');
    } catch (error) {
      assert.ok(error instanceof InvalidFieldsException);
      assert.equal(error.errors.length, MAX_FIELD_ERRORS);
      assert.ok(!JSON.stringify(error.getResponse()).includes(secret));
    }
  });

  it('describes the same schema in OpenAPI, unknown fields refused', () => {
    const schema = openApiSchemaOf(body);
    assert.equal(schema.type, 'object');
    assert.deepEqual(schema.required, ['name']);
    assert.equal(schema.additionalProperties, false);
    assert.deepEqual(Object.keys(schema.properties ?? {}), ['name', 'tags']);
  });
});
