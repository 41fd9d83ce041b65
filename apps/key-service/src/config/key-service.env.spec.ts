import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { validateEnv } from '@keyward/settings';
import { keyServiceEnv } from './key-service.env';

const validate = validateEnv(keyServiceEnv);
const SECRETS = {
  KEY_HASH_SECRET: 'a-production-key-hash-secret-0123456789',
  LOGIN_CODE_SEALING_KEY: 'a-production-login-code-sealing-key-0123',
  KEY_VERIFY_CALLERS: `billing:${Buffer.alloc(32, 7).toString('base64')}`,
  VERIFY_SERVICE_TOKENS: 'a-production-verify-service-token-0123456',
  LEAK_REPORTER_TOKENS: 'a-production-leak-reporter-token-0123456789',
  KEY_EVENTS_SIGNING_KEY: `prod:${generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'der' }).toString('base64')}`,
  LEAK_SCANNER_PUBLIC_KEYS: JSON.stringify({
    scanner: generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ type: 'spki', format: 'pem' }),
  }),
};

describe('key-service settings', () => {
  it('runs on the development defaults only when NODE_ENV says development or test', () => {
    assert.equal(validate({ NODE_ENV: 'development' }).SESSION_COOKIE_SECURE, false);
    assert.equal(validate({ NODE_ENV: 'test' }).HSTS, false);
    for (const NODE_ENV of ['production', undefined]) {
      assert.throws(
        () => validate({ NODE_ENV }),
        /KEY_HASH_SECRET: must be set unless NODE_ENV is development or test/,
      );
    }
  });

  it('names every development default still in use outside development, unset NODE_ENV included', () => {
    let message = '';
    try {
      validate({ KEY_HASH_SECRET: SECRETS.KEY_HASH_SECRET });
    } catch (error) {
      message = (error as Error).message;
    }
    assert.match(message, /LOGIN_CODE_SEALING_KEY: must be set unless NODE_ENV is development or test/);
    assert.match(message, /KEY_EVENTS_SIGNING_KEY: must be set unless NODE_ENV is development or test/);
    assert.match(
      message,
      /VERIFY_SERVICE_TOKENS: VERIFY_SERVICE_TOKENS and KEY_VERIFY_CALLERS must be set unless NODE_ENV/,
    );
    assert.match(message, /LEAK_SCANNER_PUBLIC_KEYS: .* must be set unless NODE_ENV is development or test/);
    assert.doesNotMatch(message, /KEY_HASH_SECRET/);
    assert.throws(
      () =>
        validate({
          ...SECRETS,
          VERIFY_SERVICE_TOKENS: `${SECRETS.VERIFY_SERVICE_TOKENS},keyward-local-development-only-verify-token`,
        }),
      /VERIFY_SERVICE_TOKENS and KEY_VERIFY_CALLERS must be set/,
    );
  });

  it('in production: secure cookies, HSTS and no Swagger UI, unless told otherwise', () => {
    const env = validate(SECRETS);
    assert.deepEqual([env.SESSION_COOKIE_SECURE, env.HSTS, env.SWAGGER_UI], [true, true, false]);
    assert.equal(validate({ ...SECRETS, SWAGGER_UI: 'true' }).SWAGGER_UI, true);
    assert.deepEqual(
      [validate({ NODE_ENV: 'development' }).SWAGGER_UI, validate({ NODE_ENV: 'development' }).HSTS],
      [true, false],
    );
  });

  it('trusts no proxy by default; a hop count or addresses and CIDRs when set; refuses anything else', () => {
    const trust = (TRUST_PROXY?: string) => validate({ NODE_ENV: 'test', TRUST_PROXY }).TRUST_PROXY;
    assert.equal(trust(), false);
    assert.equal(trust('false'), false);
    assert.equal(trust('2'), 2);
    assert.deepEqual(trust('10.0.0.0/8, 127.0.0.1,::1,fd00::/8'), ['10.0.0.0/8', '127.0.0.1', '::1', 'fd00::/8']);
    for (const bad of ['true', 'loopback', '10.0.0.0/33', '300.1.1.1', '10.0.0.1/8/1']) {
      assert.throws(() => trust(bad), /TRUST_PROXY: expected false, a hop count/, bad);
    }
  });

  it('binds the internal verification listener to loopback unless told otherwise', () => {
    assert.equal(validate({ NODE_ENV: 'test' }).VERIFY_HTTP_HOST, '127.0.0.1');
  });
});
