import { createPrivateKey, sign } from 'node:crypto';

/**
 * The private half of key-service's test-only leak-scanner key pair (identifier
 * `keyward-test-only-github-secret-scanning-key`, trusted only outside production): tests sign
 * payloads with it as GitHub signs its secret-scanning reports.
 */
const TEST_SCANNER_PRIVATE_KEY = createPrivateKey(`-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgFNvoC6rNaEyEa9Xo
4Bxit2f13nGt2ytIB8108CIeXg+hRANCAARHl+0AZNqKklBCjbMtZAF3d37Db9Eq
+/fH449SvFsq/rVl0qAGNJJ7OTLqexaJeWj8gT59IFwJgBNNQExOK7bM
-----END PRIVATE KEY-----
`);
export const TEST_SCANNER_KEY_ID = 'keyward-test-only-github-secret-scanning-key';

/** GitHub's headers for this exact body: base64 DER ECDSA P-256 signature over its SHA-256. */
export function githubSignatureHeaders(body: string, keyId = TEST_SCANNER_KEY_ID): Record<string, string> {
  return {
    'github-public-key-identifier': keyId,
    'github-public-key-signature': sign('sha256', Buffer.from(body), TEST_SCANNER_PRIVATE_KEY).toString('base64'),
  };
}
