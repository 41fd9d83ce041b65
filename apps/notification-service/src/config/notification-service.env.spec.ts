import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateEnv } from '@keyward/platform';
import { notificationServiceEnv } from './notification-service.env';

const validate = validateEnv(notificationServiceEnv);

describe('notification-service settings', () => {
  it('runs against the local stack with no settings, with the development sealing key', () => {
    const env = validate({});
    assert.equal(env.LOGIN_CODE_SEALING_KEY, 'keyward-local-development-only-login-code-key');
    assert.equal(env.DELIVERY_GIVE_UP_AFTER, 24 * 3_600_000);
    assert.equal(env.DELIVERY_RETRY_MAX_MS, 300_000);
    assert.equal(env.CONSUMER_PARTITIONS_AT_ONCE, 6);
  });

  it('refuses the development sealing key in production, and accepts a real one', () => {
    assert.throws(() => validate({ NODE_ENV: 'production' }), /LOGIN_CODE_SEALING_KEY: must be set in production/);
    const key = 'a-production-sealing-key-of-enough-length';
    assert.equal(validate({ NODE_ENV: 'production', LOGIN_CODE_SEALING_KEY: key }).LOGIN_CODE_SEALING_KEY, key);
  });

  it('reads the give-up window as a duration', () => {
    assert.equal(validate({ DELIVERY_GIVE_UP_AFTER: '90m' }).DELIVERY_GIVE_UP_AFTER, 90 * 60_000);
    assert.equal(validate({ DELIVERY_GIVE_UP_AFTER: '2d' }).DELIVERY_GIVE_UP_AFTER, 2 * 86_400_000);
    assert.equal(validate({ DELIVERY_GIVE_UP_AFTER: '1500' }).DELIVERY_GIVE_UP_AFTER, 1_500);
  });

  it('names bad delivery settings', () => {
    assert.throws(() => validate({ DELIVERY_LEASE_MS: '1000' }), /DELIVERY_LEASE_MS/);
    assert.throws(() => validate({ DELIVERY_GIVE_UP_AFTER: 'a day' }), /DELIVERY_GIVE_UP_AFTER: expected a duration/);
    assert.throws(() => validate({ DELIVERY_GIVE_UP_AFTER: '10ms' }), /DELIVERY_GIVE_UP_AFTER/);
    assert.throws(() => validate({ LOGIN_CODE_SEALING_KEY: 'short' }), /LOGIN_CODE_SEALING_KEY: must be at least 32/);
  });
});
