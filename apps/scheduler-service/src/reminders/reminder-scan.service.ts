import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { buildRecordReminderDue, CALENDAR_MINUTE_MS, calendarMinuteOf, Topic } from '@keyward/contracts';
import { KafkaProducerService } from '@keyward/kafka';
import { Clock } from '@keyward/platform';
import { CronJob } from 'cron';
import { performance } from 'node:perf_hooks';
import { SchedulerSettings } from '../config/scheduler-service.env';
import { DueKeysRepository, PageEnd } from './due-keys.repository';
import { ReminderCommandLeases, ReminderDue } from './reminder-command-leases.repository';
import { ReminderCalendarRepository } from './reminder-calendar.repository';
import { PassResult, ScanMetrics } from './scan.metrics';
import { ScanProgressRepository } from './scan-progress.repository';

export const REMINDER_SCAN_JOB = 'reminder-scan';

/**
 * The reminder scan: on a cron, finds the keys whose next reminder is due and sends key-service
 * one RecordReminderDue command per key (keyed by keyId), unless that key's command is still in
 * flight (ReminderCommandLeases): a large batch due at once is sent once and drains, instead of
 * growing by a copy each pass while key-service works through it.
 *
 * A pass costs what is due: it reads key-service's reminder calendar minute by minute since the
 * last pass (ScanProgressRepository), by `_id`. The full scan of the keys (index-shaped: active
 * keys by due time) is the safety net: it runs when no full scan has looked for
 * REMINDER_FULL_SCAN_EVERY_MS (the first pass of a new deployment, after downtime, and hourly), so
 * keys written before the calendar existed, or listed too late, are reminded too.
 *
 * Progress is written only once a pass has sent its commands, so a pass that dies half-way loses
 * nothing (it freed its unsent leases; the next pass reads the same minutes). A command that is
 * lost, or that key-service answers "not due", is sent again by the next full scan: a key stays due
 * until key-service records its reminder. Any number of schedulers may run: one wins each lease,
 * and key-service claims each stage once however many commands arrive.
 */
@Injectable()
export class ReminderScanService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ReminderScanService.name);
  private readonly pageSize: number;
  private readonly cron: string;
  private readonly leaseMs: number;
  private readonly fullScanEveryMs: number;
  private running?: Promise<PassResult>;
  private job?: CronJob;

  constructor(
    private readonly dueKeys: DueKeysRepository,
    private readonly calendar: ReminderCalendarRepository,
    private readonly progress: ScanProgressRepository,
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
    this.fullScanEveryMs = settings.REMINDER_FULL_SCAN_EVERY_MS;
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
    // The last calendar minute to read: the one before the minute that has begun, so a key-service
    // whose clock runs up to a minute behind ours still finds each key listed there due.
    const readTo = new Date((Math.floor(asOf.getTime() / CALENDAR_MINUTE_MS) - 1) * CALENDAR_MINUTE_MS);
    const counts = { keysDue: 0, commandsSent: 0 };
    let full = false;
    try {
      await this.leases.dropLapsed(asOf);
      const progress = await this.progress.read();
      // Also when the clock went back that far: the calendar read so far is then no guide.
      full = !progress || Math.abs(asOf.getTime() - progress.fullScanAt.getTime()) >= this.fullScanEveryMs;
      if (progress && !full) {
        await this.readCalendar(progress.calendarReadTo, readTo, asOf, counts);
        await this.progress.recordCalendarRead(readTo);
      } else {
        await this.fullScan(asOf, counts);
        await this.progress.recordFullScan({ fullScanAt: asOf, calendarReadTo: readTo });
      }
    } catch (error) {
      const result = { ...counts, full, durationMs: performance.now() - started, failed: true };
      this.metrics.record(result);
      this.logger.error({ ...result, asOf }, `reminder scan failed: ${(error as Error).message}`);
      throw error;
    }
    const result = { ...counts, full, durationMs: performance.now() - started, failed: false };
    this.metrics.record(result);
    this.logger.log({ ...result, asOf }, 'reminder scan pass');
    return result;
  }

  /** Every minute after `from`, up to and including `to`, page by page. */
  private async readCalendar(from: Date, to: Date, asOf: Date, counts: PassCounts): Promise<void> {
    let page: ReminderDue[] = [];
    for (let minute = from.getTime() + CALENDAR_MINUTE_MS; minute <= to.getTime(); minute += CALENDAR_MINUTE_MS) {
      const dueBy = new Date(minute);
      for (const keyId of await this.calendar.keysDueIn(dueBy)) {
        page.push({ keyId, dueBy });
        if (page.length === this.pageSize) page = await this.send(page, asOf, counts);
      }
    }
    await this.send(page, asOf, counts);
  }

  /** Pages through the active keys due by `asOf` (keyset paging on the keys' reminder index). */
  private async fullScan(asOf: Date, counts: PassCounts): Promise<void> {
    let after: PageEnd | undefined;
    for (;;) {
      const page = await this.dueKeys.duePage(asOf, after, this.pageSize);
      await this.send(
        page.map((key) => ({ keyId: key._id.toHexString(), dueBy: calendarMinuteOf(key.nextReminderAt) })),
        asOf,
        counts,
      );
      if (page.length < this.pageSize) return;
      after = page[page.length - 1];
    }
  }

  /** Sends the commands of a page no one has in flight; returns an empty page to fill next. */
  private async send(page: ReminderDue[], asOf: Date, counts: PassCounts): Promise<ReminderDue[]> {
    if (page.length === 0) return page;
    counts.keysDue += page.length;
    // Keys whose command is still in flight (this or another scheduler sent it) are skipped.
    const claimed = await this.leases.claim(page, asOf, this.leaseMs);
    try {
      await this.producer.send(
        Topic.KeyReminderCommands,
        claimed.map(({ keyId }) => ({ key: keyId, value: JSON.stringify(buildRecordReminderDue({ keyId, asOf })) })),
      );
    } catch (error) {
      // Unsent: free them for the next pass rather than wait out the lease.
      await this.leases.release(claimed).catch(() => undefined);
      throw error;
    }
    counts.commandsSent += claimed.length;
    return [];
  }
}

interface PassCounts {
  keysDue: number;
  commandsSent: number;
}
