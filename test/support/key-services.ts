import { INestApplication } from '@nestjs/common';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { AheadOfFastify, Clock } from '@keyward/platform';
import { TestClock } from './schedulers';

/**
 * key-service booted inside the test process, optionally with its Clock replaced, so a test can
 * stand before a date long past (the 2024 legacy expiry) or walk months ahead, or reach into its
 * providers (stop a request at a chosen step). Everything else is the real module and HTTP set-up:
 * configuration (read from process.env when first loaded), Mongo, Kafka, verification, reminders.
 * Only the Kafka verification server is not started.
 */
export class InProcessKeyService {
  private constructor(
    private readonly app: INestApplication,
    readonly url: string,
  ) {}

  static configure(env: Record<string, string>): void {
    Object.assign(process.env, env);
  }

  static async start(clock?: TestClock): Promise<InProcessKeyService> {
    const { KeyServiceModule } = await import('../../apps/key-service/src/app.module');
    const { configureHttp } = await import('../../apps/key-service/src/http-app');
    const builder = Test.createTestingModule({ imports: [KeyServiceModule] });
    const moduleRef = await (clock ? builder.overrideProvider(Clock).useValue(clock) : builder).compile();
    const ahead = new AheadOfFastify();
    const app = moduleRef.createNestApplication<NestFastifyApplication>(
      new FastifyAdapter({ serverFactory: ahead.serverFactory }),
    );
    await configureHttp(app, ahead);
    await app.listen(0, '127.0.0.1');
    return new InProcessKeyService(app, await app.getUrl());
  }

  get<T>(type: new (...args: never[]) => T): T {
    return this.app.get(type);
  }

  stop(): Promise<void> {
    return this.app.close();
  }
}
