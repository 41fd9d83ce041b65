import { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { completeOpenApiDocument } from '@keyward/platform';
import { CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE } from './auth/session-cookies';
import { SERVICE_TOKEN_HEADER } from './verification/token-set';
import { verifyOperation } from './verification/verify.operation';
import { VERIFY_PATH } from './verification/verify-request.handler';

const DESCRIPTION =
  'API keys: create, list, rotate, revoke, verify. Request bodies are `application/json` only (415 ' +
  'otherwise), at most 16 KB (`/v1/auth/*` 4 KB, `/v1/keys/verify` 1 KB, `/v1/leaks` 64 KB, ' +
  '`/v1/leaks/github` 1 MB; 413 beyond), at most 8 levels deep with 64 properties in all (the leak ' +
  'reports: as many as their batches need), and hold only the fields described (400 otherwise, naming ' +
  'at most 10 fields). Every error is a problem-details body (`application/problem+json`); a method a ' +
  'path does not have answers 405 with `Allow`.';

/**
 * key-service's OpenAPI document, from its controllers and the verification route (a plain Fastify
 * route): served at /docs (SWAGGER_UI) and written to docs/openapi.json by `npm run docs:openapi`
 * (from an app in preview mode, which needs no stack).
 */
export function keyServiceOpenApi(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('keyward key-service')
    .setDescription(DESCRIPTION)
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'The `token` from POST /v1/auth/login' }, 'bearer')
    .addCookieAuth(
      SESSION_COOKIE,
      {
        type: 'apiKey',
        in: 'cookie',
        description:
          `Set by POST /v1/auth/login. A change (any method but GET) authenticated by it also sends the ` +
          `\`${CSRF_COOKIE}\` cookie’s value in \`${CSRF_HEADER}\` (403 otherwise)`,
      },
      'cookie',
    )
    .addApiKey({ type: 'apiKey', in: 'header', name: SERVICE_TOKEN_HEADER }, 'service-token')
    .build();
  const document = SwaggerModule.createDocument(app, config);
  document.paths[VERIFY_PATH] = { post: verifyOperation() };
  return completeOpenApiDocument(app, document, {
    changes: { 403: 'Sent cross-site (`Origin` or `Sec-Fetch-Site` of another site)' },
  });
}
