import { CanActivate, ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import { Refusals, RequestWithRawBody } from '@keyward/platform';
import { KeyObject, verify } from 'node:crypto';
import { KeyServiceSettings } from '../config/key-service.env';

export const GITHUB_KEY_ID_HEADER = 'github-public-key-identifier';
export const GITHUB_SIGNATURE_HEADER = 'github-public-key-signature';

/**
 * GitHub signs each secret-scanning request with one of its published ECDSA P-256 keys: a base64
 * DER signature over SHA-256 of the exact body bytes, naming the key by identifier. The keys
 * trusted are LEAK_SCANNER_PUBLIC_KEYS.
 */
@Injectable()
export class GithubSignatures {
  private readonly keys: Map<string, KeyObject>;

  constructor(settings: KeyServiceSettings) {
    this.keys = settings.LEAK_SCANNER_PUBLIC_KEYS;
  }

  /** True only for a signature by a trusted key over exactly these bytes. */
  verifies(keyId: unknown, signature: unknown, body: Buffer | undefined): boolean {
    if (typeof keyId !== 'string' || typeof signature !== 'string' || body === undefined) return false;
    const key = this.keys.get(keyId);
    if (!key) return false;
    try {
      return verify('sha256', body, { key, dsaEncoding: 'der' }, Buffer.from(signature, 'base64'));
    } catch {
      // Not a DER signature at all.
      return false;
    }
  }
}

/** Lets in only requests GitHub signed; 401 before anything in them is looked at. */
@Injectable()
export class GithubSignatureGuard implements CanActivate {
  static openApiRefusals(): Refusals {
    return { 401: 'Not signed by a trusted key; nothing in the request was looked at' };
  }

  constructor(private readonly signatures: GithubSignatures) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<RequestWithRawBody>();
    const { [GITHUB_KEY_ID_HEADER]: keyId, [GITHUB_SIGNATURE_HEADER]: signature } = request.headers;
    if (!this.signatures.verifies(keyId, signature, request.rawBody)) {
      throw new UnauthorizedException(
        `Missing or invalid ${GITHUB_SIGNATURE_HEADER} (or unknown ${GITHUB_KEY_ID_HEADER}) header`,
      );
    }
    return true;
  }
}
