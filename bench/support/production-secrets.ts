import { generateKeyPairSync, randomBytes } from 'node:crypto';

/**
 * Fresh secrets for a key-service that runs with NODE_ENV=production, as deployed (it refuses the
 * public development defaults there). `serviceToken` is the x-service-token its verification takes.
 */
export function keyServiceProductionSecrets(serviceToken: string): Record<string, string> {
  const secret = () => randomBytes(32).toString('base64url');
  return {
    NODE_ENV: 'production',
    KEY_HASH_SECRET: secret(),
    LOGIN_CODE_SEALING_KEY: secret(),
    VERIFY_SERVICE_TOKENS: serviceToken,
    KEY_VERIFY_CALLERS: `bench:${randomBytes(32).toString('base64')}`,
    LEAK_REPORTER_TOKENS: secret(),
    KEY_EVENTS_SIGNING_KEY: `bench:${generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'der' }).toString('base64')}`,
    LEAK_SCANNER_PUBLIC_KEYS: JSON.stringify({
      bench: generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ type: 'spki', format: 'pem' }),
    }),
  };
}
