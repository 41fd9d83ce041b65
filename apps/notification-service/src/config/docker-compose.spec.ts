import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateEnv } from '@keyward/settings';
import { composeEnvironment } from '@keyward/testing';
import { notificationServiceEnv } from './notification-service.env';

describe('notification-service in docker-compose.yml', () => {
  it('starts: its compose environment passes its own validation, in production mode', () => {
    const env = validateEnv(notificationServiceEnv)(composeEnvironment('notification-service'));
    assert.equal(env.NODE_ENV, 'production');
  });
});
