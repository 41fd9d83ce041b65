import { hash, timingSafeEqual } from 'node:crypto';

export const SERVICE_TOKEN_HEADER = 'x-service-token';

export const MISSING_SERVICE_TOKEN = `Missing or unknown ${SERVICE_TOKEN_HEADER} header`;

const digest = (token: string) => hash('sha256', token, 'buffer');

/** Who is calling, for per-caller limits: a short digest of its token. */
const callerOfDigest = (tokenDigest: Buffer) => tokenDigest.toString('base64url', 0, 12);

/** Who is calling, for per-caller limits: a short digest of its (already accepted) token. */
export const callerOf = (token: string) => callerOfDigest(digest(token));

/**
 * Tokens callers send as `x-service-token`. Both sides are hashed to equal lengths and every
 * configured token is compared in constant time, so the time taken says nothing about how close
 * a guess was or which token matched.
 */
export class TokenSet {
  private readonly tokens: Buffer[];

  constructor(tokens: string[]) {
    this.tokens = tokens.map(digest);
  }

  /** True when the header value is one of the tokens; a missing or repeated header never is. */
  accepts(header: unknown): boolean {
    return this.callerOf(header) !== undefined;
  }

  /**
   * callerOf() of the header value when it is one of the tokens, else undefined: the check and the
   * caller from one digest, for a route that answers every verification.
   */
  callerOf(header: unknown): string | undefined {
    const presented = digest(typeof header === 'string' ? header : '');
    let match = false;
    for (const token of this.tokens) match = timingSafeEqual(token, presented) || match;
    return match && typeof header === 'string' ? callerOfDigest(presented) : undefined;
  }
}
