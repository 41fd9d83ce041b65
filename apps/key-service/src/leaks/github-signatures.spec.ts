import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { githubSignatureHeaders } from '@keyward/testing';
import { generateKeyPairSync } from 'node:crypto';
import { z } from 'zod';
import { KeyServiceSettings } from '../config/key-service.env';
import { leakSecretsSet, leaksEnv } from '../config/leaks.env';
import { GITHUB_KEY_ID_HEADER, GITHUB_SIGNATURE_HEADER, GithubSignatures } from './github-signatures';

const settings = z.object(leaksEnv).parse({});
const signatures = new GithubSignatures(settings as unknown as KeyServiceSettings);
const body = '[{"token":"alice_v1_x","type":"keyward_api_key","url":"https://github.com/a/b","source":"content"}]';
const signed = githubSignatureHeaders(body);

describe('GitHub secret-scanning signatures', () => {
  it('accepts a signature by a trusted key over exactly the body', () => {
    assert.equal(
      signatures.verifies(signed[GITHUB_KEY_ID_HEADER], signed[GITHUB_SIGNATURE_HEADER], Buffer.from(body)),
      true,
    );
  });

  it('refuses a changed body, an unknown key, a signature by another key, garbage and missing headers', () => {
    const id = signed[GITHUB_KEY_ID_HEADER];
    const signature = signed[GITHUB_SIGNATURE_HEADER];
    const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const foreign = new GithubSignatures(
      z.object(leaksEnv).parse({
        LEAK_SCANNER_PUBLIC_KEYS: JSON.stringify({ [id]: other.publicKey.export({ type: 'spki', format: 'pem' }) }),
      }) as unknown as KeyServiceSettings,
    );
    assert.equal(signatures.verifies(id, signature, Buffer.from(body.replace('content', 'commit'))), false);
    assert.equal(signatures.verifies('another-key', signature, Buffer.from(body)), false);
    assert.equal(foreign.verifies(id, signature, Buffer.from(body)), false);
    assert.equal(signatures.verifies(id, 'bm90IGEgc2lnbmF0dXJl', Buffer.from(body)), false);
    assert.equal(signatures.verifies(id, undefined, Buffer.from(body)), false);
    assert.equal(signatures.verifies(undefined, signature, Buffer.from(body)), false);
    assert.equal(signatures.verifies(id, signature, undefined), false);
  });

  it('refuses keys that are not ECDSA P-256, and the test key pair in production', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' });
    const parsed = z.object(leaksEnv).safeParse({ LEAK_SCANNER_PUBLIC_KEYS: JSON.stringify({ k: rsa }) });
    assert.equal(parsed.success, false);
    assert.equal(z.object(leaksEnv).safeParse({ LEAK_SCANNER_PUBLIC_KEYS: '{}' }).success, false);
    assert.equal(leakSecretsSet({ NODE_ENV: 'production', ...settings }), false);
    assert.equal(leakSecretsSet({ NODE_ENV: 'test', ...settings }), true);
  });
});
