import type { OperationObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { keyVerificationSchema } from '@keyward/contracts';
import { openApiSchemaOf } from '@keyward/platform';
import { TokenGuard } from './service-token.guard';
import { SERVICE_TOKEN_HEADER } from './token-set';
import { verifyKeyBody } from './verify-key.request';

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
