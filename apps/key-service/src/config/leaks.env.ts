import { createPublicKey, KeyObject } from 'node:crypto';
import { z } from 'zod';
import { isDevelopment } from '@keyward/platform';
import { DEVELOPMENT_SECRET, withDefaultNote } from '@keyward/settings';
import { serviceTokenList } from './verification.env';

export const DEV_LEAK_REPORTER_TOKEN = 'keyward-local-development-only-leak-reporter-token';

/**
 * The public half of a key pair made for development and tests only (its private half is in
 * libs/testing, so tests can sign payloads as GitHub would). Refused in production.
 */
export const TEST_LEAK_SCANNER_KEY_ID = 'keyward-test-only-github-secret-scanning-key';
const TEST_LEAK_SCANNER_PUBLIC_KEY = `-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAER5ftAGTaipJQQo2zLWQBd3d+w2/R
Kvv3x+OPUrxbKv61ZdKgBjSSezky6nsWiXlo/IE+fSBcCYATTUBMTiu2zA==
-----END PUBLIC KEY-----
`;

/** Identifier → ECDSA P-256 public key, from a JSON object of PEM texts. */
const scannerPublicKeys = z
  .string()
  .default(JSON.stringify({ [TEST_LEAK_SCANNER_KEY_ID]: TEST_LEAK_SCANNER_PUBLIC_KEY }))
  .describe(
    'Keys GitHub’s secret scanning signs `POST /v1/leaks/github` with: a JSON object of key identifier → PEM (ECDSA P-256), copied from https://api.github.com/meta/public_keys/secret_scanning',
  )
  .transform((text, ctx) => {
    try {
      const entries = Object.entries(z.record(z.string().min(1)).parse(JSON.parse(text)));
      if (entries.length === 0) throw new Error('no keys');
      return new Map<string, KeyObject>(entries.map(([id, pem]) => [id, p256PublicKey(id, pem)]));
    } catch (error) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        message: `must be a JSON object of key identifier → PEM public key (ECDSA P-256): ${(error as Error).message}`,
      });
      return z.NEVER;
    }
  });

function p256PublicKey(id: string, pem: string): KeyObject {
  const key = createPublicKey(pem);
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new Error(`${id} is not an ECDSA P-256 public key`);
  }
  return key;
}

/** Settings of leaked-key reporting (spread into key-service's schema). */
export const leaksEnv = {
  LEAK_SCANNER_PUBLIC_KEYS: withDefaultNote(
    scannerPublicKeys,
    'a test key pair; required unless NODE_ENV is development or test',
  ),
  LEAK_REPORTER_TOKENS: withDefaultNote(
    serviceTokenList(DEV_LEAK_REPORTER_TOKEN).describe(
      'Comma-separated tokens (each ≥ 32 characters) other scanners and people send as `x-service-token` to `POST /v1/leaks`',
    ),
    DEVELOPMENT_SECRET,
  ),
};

/** Only development and test may trust the test key pair or the public development token. */
export function leakSecretsSet(env: {
  NODE_ENV?: string;
  LEAK_SCANNER_PUBLIC_KEYS: Map<string, KeyObject>;
  LEAK_REPORTER_TOKENS: string[];
}): boolean {
  return (
    isDevelopment(env) ||
    (!env.LEAK_SCANNER_PUBLIC_KEYS.has(TEST_LEAK_SCANNER_KEY_ID) &&
      !env.LEAK_REPORTER_TOKENS.includes(DEV_LEAK_REPORTER_TOKEN))
  );
}
