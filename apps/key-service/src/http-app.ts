import fastifyCookie from '@fastify/cookie';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { applyRouteBodyConfig, completeOpenApiDocument } from '@keyward/platform';
import { refuseCrossSiteRequests } from './auth/cross-site-requests';
import { SESSION_COOKIE } from './auth/session-cookies';
import { KeyServiceSettings } from './config/key-service.env';
import { SERVICE_TOKEN_HEADER } from './verification/service-tokens';
import { serveWebAssets } from './web/web-assets';
import { responseHeaders } from './web/security-headers';

/**
 * key-service's HTTP surface beyond its modules (response headers, cross-site refusal, cookies,
 * per-route body limits, the web app, the OpenAPI document): one definition for the service and
 * for tests that boot it in-process.
 */
export async function configureHttp(http: NestFastifyApplication): Promise<void> {
  const settings = http.get(KeyServiceSettings);
  const server = http.getHttpAdapter().getInstance();
  server.addHook(
    'onRequest',
    async (request, reply) => void reply.headers(responseHeaders(request.url, settings.HSTS)),
  );
  refuseCrossSiteRequests(server);
  await http.register(fastifyCookie);
  applyRouteBodyConfig(server);
  await serveWebAssets(http);
  if (settings.SWAGGER_UI) {
    const openApi = new DocumentBuilder()
      .setTitle('keyward key-service')
      .setDescription(
        'API keys: create, list, rotate, revoke, verify. Request bodies are `application/json` only (415 ' +
          'otherwise), at most 16 KB (`/v1/auth/*` 4 KB, `/v1/keys/verify` 1 KB, `/v1/leaks` 64 KB, ' +
          '`/v1/leaks/github` 1 MB; 413 beyond), at most 8 levels deep with 64 properties in all (the leak ' +
          'reports: as many as their batches need), and hold only the fields described (400 otherwise, naming ' +
          'at most 10 fields). Every error is a problem-details body (`application/problem+json`); a method a ' +
          'path does not have answers 405 with `Allow`.',
      )
      .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'The `token` from POST /v1/auth/login' }, 'bearer')
      .addCookieAuth(
        SESSION_COOKIE,
        { type: 'apiKey', in: 'cookie', description: 'Set by POST /v1/auth/login' },
        'cookie',
      )
      .addApiKey({ type: 'apiKey', in: 'header', name: SERVICE_TOKEN_HEADER }, 'service-token')
      .build();
    SwaggerModule.setup('docs', http, () =>
      completeOpenApiDocument(http, SwaggerModule.createDocument(http, openApi), {
        changes: { 403: 'Sent cross-site (`Origin` or `Sec-Fetch-Site` of another site)' },
      }),
    );
  }
}
