import { HttpException, RequestMethod } from '@nestjs/common';
import type { OperationObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { KeyVerification, keyVerificationSchema } from '@keyward/contracts';
import { openApiSchemaOf, parseBody, sendProblem } from '@keyward/platform';
import { RouteOptions } from 'fastify';
import { MISSING_SERVICE_TOKEN, TokenGuard } from './service-token.guard';
import { SERVICE_TOKEN_HEADER, TokenSet } from './service-tokens';
import { VerificationService } from './verification.service';
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
export function verifyRoute(verification: VerificationService, tokens: TokenSet): RouteOptions {
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

/**
 * The route's OpenAPI operation, for the document @nestjs/swagger builds from the controllers
 * (which do not hold this route); completeOpenApiDocument adds what every route with a body may
 * answer. The operation id is the one it had as a controller route, so clients keep their names.
 */
export function verifyOperation(): OperationObject {
  return {
    operationId: 'VerificationController_verify',
    parameters: [{ name: SERVICE_TOKEN_HEADER, required: true, in: 'header', schema: { type: 'string' } }],
    requestBody: { required: true, content: { 'application/json': { schema: openApiSchemaOf(verifyKeyBody) } } },
    responses: {
      200: { description: 'OK', content: { 'application/json': { schema: openApiSchemaOf(keyVerificationSchema) } } },
      400: { description: 'No key, or not text' },
      401: { description: 'Missing or unknown service token' },
      429: {
        description:
          'A failed verification past this caller’s budget for the minute (never for a valid key); see Retry-After',
      },
    },
    tags: ['verification'],
    security: TokenGuard.openApiSecurity,
  };
}
