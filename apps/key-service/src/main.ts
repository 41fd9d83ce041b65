import { createHttpApp, exitOnStartupFailure, listen } from '@keyward/platform';
import { KeyServiceModule } from './app.module';
import { configureHttp } from './http-app';
import { startVerificationTransport } from './verification/verification.transport';

async function bootstrap(): Promise<void> {
  const app = await createHttpApp(KeyServiceModule, configureHttp);
  await startVerificationTransport(app);
  await listen(app);
}

bootstrap().catch(exitOnStartupFailure);
