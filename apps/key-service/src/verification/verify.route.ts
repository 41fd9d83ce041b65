import type { KeyVerification } from '@keyward/contracts';
import { HttpException, RequestMethod } from '@keyward/platform/http/nest-http';
import { sendProblem } from '@keyward/platform/http/problem-details';
import { parseBody } from '@keyward/platform/http/request-body';
import { RouteOptions } from 'fastify';
import { MISSING_SERVICE_TOKEN, SERVICE_TOKEN_HEADER, TokenSet } from './token-set';
import type { KeyVerifier } from './key-verifier';
import { VERIFY_BODY_LIMIT, verifyKeyBody } from './verify-key.request';

export const VERIFY_PATH = '/v1/keys/verify';

/**
 * The route for LoggingModule's `unlogged`: internal services call it on every request they serve,
 * so it writes no request log line; its answers are counted by result in
 * keyward_verifications_total, and its failures are logged where they are handled.
 */
export const VERIFY_ROUTE = { path: VERIFY_PATH.slice(1), method: RequestMethod.POST };

/**
 * `POST /v1/keys/verify` as a plain Fastify route, the same on the public port and on the internal
 * listener (VERIFY_HTTP_PORT). Not a Nest controller route: verification is called on every request
 * internal services serve, and Nest's router, guard, pipe and exception zone cost more CPU than the
 * verification itself (bench/RESULTS.md, "verify"). It checks what a controller route would: the
 * service token (401), the body by verifyKeyBody (400), at most VERIFY_BODY_LIMIT bytes (413), the
 * caller's failure budget (429); errors are problem details from the listener's error handler.
 */
export function verifyRoute(verification: Pick<KeyVerifier, 'verifyFor'>, tokens: TokenSet): RouteOptions {
  return {
    method: 'POST',
    url: VERIFY_PATH,
    bodyLimit: VERIFY_BODY_LIMIT,
    handler: async (request, reply): Promise<KeyVerification | typeof reply> => {
      const caller = tokens.callerOf(request.headers[SERVICE_TOKEN_HEADER]);
      if (!caller) return sendProblem(reply, new HttpException(MISSING_SERVICE_TOKEN, 401));
      return verification.verifyFor(caller, parseBody(verifyKeyBody, request.body).key);
    },
  };
}
