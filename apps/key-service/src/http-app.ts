import fastifyCookie from '@fastify/cookie';
import { Logger } from '@nestjs/common';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { SwaggerModule } from '@nestjs/swagger';
import { HttpMetrics } from '@keyward/metrics';
import { AheadOfFastify, applyRouteBodyConfig } from '@keyward/platform';
import { refuseCrossSiteRequests } from './auth/cross-site-requests';
import { KeyServiceSettings } from './config/key-service.env';
import { keyServiceOpenApi } from './openapi';
import { serveWebAssets } from './web/web-assets';
import { responseHeaders } from './web/security-headers';
import { ServiceTokens } from './verification/service-tokens';
import { VerificationService } from './verification/verification.service';
import { isVerifyRequest, VERIFY_PATH, verifyRequestHandler } from './verification/verify-request.handler';

/**
 * key-service's HTTP surface beyond its modules (response headers, cross-site refusal, cookies,
 * per-route body limits, verification ahead of Fastify, the web app, the OpenAPI document): one
 * definition for the service and for tests that boot it in-process.
 */
export async function configureHttp(http: NestFastifyApplication, ahead: AheadOfFastify): Promise<void> {
  const settings = http.get(KeyServiceSettings);
  const server = http.getHttpAdapter().getInstance();
  server.addHook(
    'onRequest',
    async (request, reply) => void reply.headers(responseHeaders(request.url, settings.HSTS)),
  );
  refuseCrossSiteRequests(server);
  await http.register(fastifyCookie);
  applyRouteBodyConfig(server);
  const requests = http.get(HttpMetrics).duration;
  ahead.serve(
    isVerifyRequest,
    verifyRequestHandler({
      verifier: http.get(VerificationService),
      tokens: http.get(ServiceTokens),
      errors: new Logger('HttpErrors'),
      headers: responseHeaders(VERIFY_PATH, settings.HSTS),
      answered: (method, status, seconds) =>
        requests.observe({ method, route: VERIFY_PATH, status: String(status) }, seconds),
    }),
  );
  await serveWebAssets(http);
  if (settings.SWAGGER_UI) SwaggerModule.setup('docs', http, () => keyServiceOpenApi(http));
}
