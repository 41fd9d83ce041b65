import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateEnv } from '@keyward/settings';
import { composeEnvironment } from '@keyward/testing';
import { schedulerServiceEnv } from './scheduler-service.env';

describe('scheduler-service in docker-compose.yml', () => {
  it('starts: its compose environment passes its own validation', () => {
    const env = validateEnv(schedulerServiceEnv)(composeEnvironment('scheduler-service'));
    assert.deepEqual(env.KAFKA_BROKERS, ['kafka:9092']);
  });
});
