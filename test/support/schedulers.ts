import { INestApplication } from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { Clock } from '@keyward/platform';
import type { ReminderScanService } from '../../apps/scheduler-service/src/reminders/reminder-scan.service';

/** A clock the test moves by hand, shared by every scheduler it starts. */
export class TestClock extends Clock {
  constructor(private at: Date) {
    super();
  }

  override now(): Date {
    return new Date(this.at);
  }

  set(at: Date | number): void {
    this.at = new Date(at);
  }
}

/**
 * scheduler-service booted inside the test process, with its Clock replaced, so a test can walk
 * through months in seconds. Everything else is the real module: configuration, Mongo, the Kafka
 * producer, the scan and its metrics. (The real process cannot be given a moving clock without a
 * back door in production code; its cron path is covered by starting it as a process too.)
 *
 * Configuration is read from process.env when the module is first loaded, so `configure` must run
 * before the first `start`.
 */
export class InProcessScheduler {
  private constructor(
    private readonly app: INestApplication,
    private readonly scan: ReminderScanService,
  ) {}

  static configure(env: Record<string, string>): void {
    Object.assign(process.env, env);
  }

  static async start(clock: TestClock): Promise<InProcessScheduler> {
    const { SchedulerServiceModule } = await import('../../apps/scheduler-service/src/app.module');
    const { ReminderScanService } = await import('../../apps/scheduler-service/src/reminders/reminder-scan.service');
    const moduleRef = await Test.createTestingModule({ imports: [SchedulerServiceModule] })
      .overrideProvider(Clock)
      .useValue(clock)
      .compile();
    const app = moduleRef.createNestApplication(new FastifyAdapter());
    await app.init();
    return new InProcessScheduler(app, app.get(ReminderScanService));
  }

  pass() {
    return this.scan.runPass();
  }

  async metrics(): Promise<string> {
    const fastify = this.app.getHttpAdapter().getInstance() as {
      inject(o: { url: string }): Promise<{ body: string }>;
    };
    return (await fastify.inject({ url: '/metrics' })).body;
  }

  stop(): Promise<void> {
    return this.app.close();
  }
}
