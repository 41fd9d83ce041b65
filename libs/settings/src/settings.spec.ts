import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigService } from '@nestjs/config';
import { z } from 'zod';
import { settingsOf, validateEnv } from './settings';

const schema = z
  .object({
    PAGE_SIZE: z.coerce.number().default(500),
    BROKERS: z.string().transform((s) => s.split(',')),
  })
  .refine((env) => env.PAGE_SIZE > 0);

describe('settingsOf', () => {
  it('holds the validated values of every setting of the schema, typed and read-only', () => {
    const Settings = settingsOf(schema);
    const validated = validateEnv(schema)({ BROKERS: 'a:1,b:2', UNRELATED: 'x' });
    const settings = new Settings(new ConfigService(validated));
    assert.deepEqual({ ...settings }, { PAGE_SIZE: 500, BROKERS: ['a:1', 'b:2'] });
    assert.throws(() => ((settings as { PAGE_SIZE: number }).PAGE_SIZE = 1), TypeError);
  });
});
