import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { buildRecordReminderDue, Topic } from '@keyward/contracts';
import { KafkaProducerService } from '@keyward/kafka';
import { Clock } from '@keyward/platform';
import { CronJob } from 'cron';
import { performance } from 'node:perf_hooks';
import { SchedulerSettings } from '../config/scheduler-service.env';
import { DueKeysRepository, PageEnd } from './due-keys.repository';
import { ReminderCommandLeases } from './reminder-command-leases.repository';
import { PassResult, ScanMetrics } from './scan.metrics';

export const REMINDER_SCAN_JOB = 'reminder-scan';

/**
 * The reminder scan: on a cron, pages through the keys whose next reminder is due and sends
 * key-service one RecordReminderDue command per key (keyed by keyId), unless that key's command
 * is still in flight (ReminderCommandLeases): a large batch due at once is sent once and drains,
 * instead of growing by a copy each pass while key-service works through it. A key stays due
 * until key-service records its reminder, so a pass that dies half-way loses nothing (its leases
 * lapse and a later pass sends again), and any number of schedulers may run: one wins each lease,
 * and key-service claims each stage once however many commands arrive.
 */
@Injectable()
export class ReminderScanService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ReminderScanService.name);
  private readonly pageSize: number;
  private readonly cron: string;
  private readonly leaseMs: number;
  private running?: Promise<PassResult>;
  private job?: CronJob;

  constructor(
    private readonly dueKeys: DueKeysRepository,
    private readonly leases: ReminderCommandLeases,
    private readonly producer: KafkaProducerService,
    private readonly clock: Clock,
    private readonly metrics: ScanMetrics,
    private readonly registry: SchedulerRegistry,
    settings: SchedulerSettings,
  ) {
    this.pageSize = settings.REMINDER_SCAN_PAGE_SIZE;
    this.cron = settings.REMINDER_SCAN_CRON;
    this.leaseMs = settings.REMINDER_COMMAND_LEASE_MS;
  }

  onApplicationBootstrap(): void {
    this.job = CronJob.from({ cronTime: this.cron, onTick: () => this.tick(), start: true });
    this.registry.addCronJob(REMINDER_SCAN_JOB, this.job);
  }

  async onApplicationShutdown(): Promise<void> {
    // Our own reference: the schedule module may have dropped its registry first.
    await this.job?.stop();
    await this.running?.catch(() => undefined);
  }

  /** A tick while the previous pass still runs is skipped: that pass will find the same keys. */
  private async tick(): Promise<void> {
    if (this.running) {
      this.logger.warn('previous reminder scan still running; tick skipped');
      return;
    }
    await this.runPass().catch(() => undefined);
  }

  /** One pass as of the clock's now. Exposed for tests and benchmarks. */
  async runPass(): Promise<PassResult> {
    this.running = this.pass(this.clock.now()).finally(() => (this.running = undefined));
    return this.running;
  }

  private async pass(asOf: Date): Promise<PassResult> {
    const started = performance.now();
    let keysDue = 0;
    let commandsSent = 0;
    let after: PageEnd | undefined;
    try {
      await this.leases.dropLapsed(asOf);
      for (;;) {
        const page = await this.dueKeys.duePage(asOf, after, this.pageSize);
        keysDue += page.length;
        // Keys whose command is still in flight (this or another scheduler sent it) are skipped.
        const claimed = await this.leases.claim(page, asOf, this.leaseMs);
        try {
          await this.producer.send(
            Topic.KeyReminderCommands,
            claimed.map((key) => {
              const keyId = key._id.toHexString();
              return { key: keyId, value: JSON.stringify(buildRecordReminderDue({ keyId, asOf })) };
            }),
          );
        } catch (error) {
          // Unsent: free them for the next pass rather than wait out the lease.
          await this.leases.release(claimed).catch(() => undefined);
          throw error;
        }
        commandsSent += claimed.length;
        if (page.length < this.pageSize) break;
        after = page[page.length - 1];
      }
    } catch (error) {
      const result = { keysDue, commandsSent, durationMs: performance.now() - started, failed: true };
      this.metrics.record(result);
      this.logger.error({ ...result, asOf }, `reminder scan failed: ${(error as Error).message}`);
      throw error;
    }
    const result = { keysDue, commandsSent, durationMs: performance.now() - started, failed: false };
    this.metrics.record(result);
    this.logger.log({ ...result, asOf }, 'reminder scan pass');
    return result;
  }
}
