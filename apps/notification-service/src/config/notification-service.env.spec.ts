import { generateKeyPairSync } from 'node:crypto';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateEnv } from '@keyward/settings';
import { notificationServiceEnv } from './notification-service.env';

const validate = validateEnv(notificationServiceEnv);
/** A production public key of key-service's (its private half is not needed here). */
const KEY_EVENTS_VERIFY_KEYS = `prod:${generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`;

describe('notification-service settings', () => {
  it('runs against the local stack in development and test, with the development sealing key', () => {
    const env = validate({ NODE_ENV: 'test' });
    assert.equal(env.LOGIN_CODE_SEALING_KEY, 'keyward-local-development-only-login-code-key');
    assert.equal(env.DELIVERY_GIVE_UP_AFTER, 24 * 3_600_000);
    assert.equal(env.DELIVERY_RETRY_MAX_MS, 300_000);
    assert.equal(env.CONSUMER_PARTITIONS_AT_ONCE, 6);
  });

  it('refuses the development sealing key unless NODE_ENV is development or test (unset included)', () => {
    for (const NODE_ENV of ['production', undefined]) {
      assert.throws(() => validate({ NODE_ENV }), /LOGIN_CODE_SEALING_KEY: must be set unless NODE_ENV is development/);
    }
    const key = 'a-production-sealing-key-of-enough-length';
    assert.throws(
      () => validate({ NODE_ENV: 'production', LOGIN_CODE_SEALING_KEY: key }),
      /KEY_EVENTS_VERIFY_KEYS: must be set unless NODE_ENV is development/,
    );
    const env = validate({ NODE_ENV: 'production', LOGIN_CODE_SEALING_KEY: key, KEY_EVENTS_VERIFY_KEYS });
    assert.equal(env.LOGIN_CODE_SEALING_KEY, key);
    assert.deepEqual(env.KEY_EVENTS_VERIFY_KEYS, [KEY_EVENTS_VERIFY_KEYS]);
  });

  it('reads the give-up window as a duration', () => {
    const duration = (DELIVERY_GIVE_UP_AFTER: string) =>
      validate({ NODE_ENV: 'test', DELIVERY_GIVE_UP_AFTER }).DELIVERY_GIVE_UP_AFTER;
    assert.equal(duration('90m'), 90 * 60_000);
    assert.equal(duration('2d'), 2 * 86_400_000);
    assert.equal(duration('1500'), 1_500);
  });

  it('requires STARTTLS in production unless told otherwise, not in development', () => {
    const secrets = { LOGIN_CODE_SEALING_KEY: 'a-production-sealing-key-of-enough-length', KEY_EVENTS_VERIFY_KEYS };
    assert.equal(validate(secrets).SMTP_REQUIRE_TLS, true);
    assert.equal(validate({ ...secrets, SMTP_REQUIRE_TLS: 'false' }).SMTP_REQUIRE_TLS, false);
    assert.equal(validate({ NODE_ENV: 'development' }).SMTP_REQUIRE_TLS, false);
  });

  it('asks no relay unless MAILPIT_API_URL names an http(s) URL', () => {
    const test = { NODE_ENV: 'test' };
    assert.equal(validate(test).MAILPIT_API_URL, undefined);
    assert.equal(validate({ ...test, MAILPIT_API_URL: 'http://mailpit:8025' }).MAILPIT_API_URL, 'http://mailpit:8025');
    assert.throws(
      () => validate({ ...test, MAILPIT_API_URL: 'mailpit:8025' }),
      /MAILPIT_API_URL: must be an http\(s\) URL/,
    );
    assert.throws(() => validate({ ...test, MAILPIT_API_URL: 'file:///etc/passwd' }), /MAILPIT_API_URL/);
  });

  it('names bad delivery settings', () => {
    const test = { NODE_ENV: 'test' };
    assert.throws(() => validate({ ...test, DELIVERY_LEASE_MS: '1000' }), /DELIVERY_LEASE_MS/);
    assert.throws(
      () => validate({ ...test, DELIVERY_GIVE_UP_AFTER: 'a day' }),
      /DELIVERY_GIVE_UP_AFTER: expected a duration/,
    );
    assert.throws(() => validate({ ...test, DELIVERY_GIVE_UP_AFTER: '10ms' }), /DELIVERY_GIVE_UP_AFTER/);
    assert.throws(
      () => validate({ ...test, LOGIN_CODE_SEALING_KEY: 'short' }),
      /LOGIN_CODE_SEALING_KEY: must be at least 32/,
    );
  });
});
