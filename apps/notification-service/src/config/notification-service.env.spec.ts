import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateEnv } from '@keyward/platform';
import { notificationServiceEnv } from './notification-service.env';

const validate = validateEnv(notificationServiceEnv);

describe('notification-service settings', () => {
  it('runs against the local stack with no settings, with the development sealing key', () => {
    const env = validate({});
    assert.equal(env.LOGIN_CODE_SEALING_KEY, 'keyward-local-development-only-login-code-key');
    assert.equal(env.DELIVERY_MAX_ATTEMPTS, 20);
    assert.equal(env.CONSUMER_PARTITIONS_AT_ONCE, 6);
  });

  it('refuses the development sealing key in production, and accepts a real one', () => {
    assert.throws(() => validate({ NODE_ENV: 'production' }), /LOGIN_CODE_SEALING_KEY: must be set in production/);
    const key = 'a-production-sealing-key-of-enough-length';
    assert.equal(validate({ NODE_ENV: 'production', LOGIN_CODE_SEALING_KEY: key }).LOGIN_CODE_SEALING_KEY, key);
  });

  it('names bad delivery settings', () => {
    assert.throws(() => validate({ DELIVERY_LEASE_MS: '1000' }), /DELIVERY_LEASE_MS/);
    assert.throws(() => validate({ DELIVERY_MAX_ATTEMPTS: '0' }), /DELIVERY_MAX_ATTEMPTS/);
    assert.throws(() => validate({ LOGIN_CODE_SEALING_KEY: 'short' }), /LOGIN_CODE_SEALING_KEY: must be at least 32/);
  });
});
