import fastifyCookie from '@fastify/cookie';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { applyRouteBodyConfig, createHttpApp, exitOnStartupFailure, listen, validationPipe } from '@keyward/platform';
import { KeyServiceModule } from './app.module';
import { serveWebAssets } from './web/web-assets';
import { startVerificationTransport } from './verification/verification.transport';

async function bootstrap(): Promise<void> {
  const app = await createHttpApp(KeyServiceModule, async (http) => {
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
  });
  await startVerificationTransport(app);
  await listen(app);
}

bootstrap().catch(exitOnStartupFailure);
