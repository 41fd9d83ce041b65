import { createHttpApp, exitOnStartupFailure, listen } from '@keyward/platform';
import { NotificationServiceModule } from './app.module';

async function bootstrap(): Promise<void> {
  await listen(await createHttpApp(NotificationServiceModule));
}

bootstrap().catch(exitOnStartupFailure);
