import { createHttpApp, exitOnStartupFailure, listen } from '@keyward/platform';
import { SchedulerServiceModule } from './app.module';

async function bootstrap(): Promise<void> {
  await listen(await createHttpApp(SchedulerServiceModule));
}

bootstrap().catch(exitOnStartupFailure);
