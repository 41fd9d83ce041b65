import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { Topic } from '../topics';
import { ASYNCAPI_FILE, asyncApiYaml } from './asyncapi';

describe('docs/asyncapi.yaml', () => {
  it('is what the contracts generate (run `npm run docs:asyncapi` after changing one)', () => {
    assert.equal(readFileSync(ASYNCAPI_FILE, 'utf8'), asyncApiYaml(), 'docs/asyncapi.yaml is out of date');
  });

  it('documents every topic, and each message with its schema', () => {
    const document = parse(asyncApiYaml()) as {
      channels: Record<string, { address: string }>;
      components: { messages: Record<string, { payload: { properties?: Record<string, unknown> } }> };
    };
    const addresses = Object.values(document.channels).map((c) => c.address);
    assert.deepEqual(addresses.sort(), Object.values(Topic).sort());
    const created = document.components.messages.KeyCreated.payload.properties ?? {};
    assert.deepEqual(Object.keys(created).sort(), [
      'eventId',
      'keyId',
      'occurredAt',
      'owner',
      'payload',
      'type',
      'version',
    ]);
  });
});
