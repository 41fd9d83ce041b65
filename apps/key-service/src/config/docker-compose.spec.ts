import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateEnv } from '@keyward/settings';
import { composeEnvironment } from '@keyward/testing';
import { keyServiceEnv } from './key-service.env';

describe('key-service in docker-compose.yml', () => {
  it('starts: its compose environment passes its own validation, in production mode', () => {
    const env = validateEnv(keyServiceEnv)(composeEnvironment('key-service'));
    assert.equal(env.NODE_ENV, 'production');
    assert.equal(env.HTTP_HOST, '0.0.0.0');
  });

  it('shares the login-code sealing key with notification-service', () => {
    const [keys, notifications] = [composeEnvironment('key-service'), composeEnvironment('notification-service')];
    assert.equal(keys.LOGIN_CODE_SEALING_KEY, notifications.LOGIN_CODE_SEALING_KEY);
  });
});
