import fastifyCookie from '@fastify/cookie';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { SwaggerModule } from '@nestjs/swagger';
import { applyRouteBodyConfig } from '@keyward/platform';
import { refuseCrossSiteRequests } from './auth/cross-site-requests';
import { KeyServiceSettings } from './config/key-service.env';
import { keyServiceOpenApi } from './openapi';
import { serveWebAssets } from './web/web-assets';
import { responseHeaders } from './web/security-headers';
import { ServiceTokens } from './verification/service-tokens';
import { VerificationService } from './verification/verification.service';
import { verifyRoute } from './verification/verify.route';

/**
 * key-service's HTTP surface beyond its modules (response headers, cross-site refusal, cookies,
 * per-route body limits, the verification route, the web app, the OpenAPI document): one definition
 * for the service and for tests that boot it in-process.
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
  server.route(verifyRoute(http.get(VerificationService), http.get(ServiceTokens)));
  await serveWebAssets(http);
  if (settings.SWAGGER_UI) SwaggerModule.setup('docs', http, () => keyServiceOpenApi(http));
}
