import fastifyCookie from '@fastify/cookie';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { applyRouteBodyConfig, validationPipe } from '@keyward/platform';
import { serveWebAssets } from './web/web-assets';

/**
 * key-service's HTTP surface beyond its modules (cookies, the web app, validation, the OpenAPI
 * document): one definition for the service and for tests that boot it in-process.
 */
export async function configureHttp(http: NestFastifyApplication): Promise<void> {
  await http.register(fastifyCookie);
  applyRouteBodyConfig(http.getHttpAdapter().getInstance());
  await serveWebAssets(http);
  http.useGlobalPipes(validationPipe());
  const openApi = new DocumentBuilder()
    .setTitle('keyward key-service')
    .setDescription('API keys: create, list, rotate, revoke, verify')
    .addBearerAuth()
    .build();
  SwaggerModule.setup('docs', http, () => SwaggerModule.createDocument(http, openApi));
}
