import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Clock } from '@keyward/platform';
import { DeliveriesRepository } from './deliveries.repository';
import { DeliveriesService } from './deliveries.service';
import { NotificationSettings } from '../config/notification-service.env';

/**
 * Retries pending deliveries when they fall due: transient SMTP failures, and deliveries a crashed
 * process left leased; then erases the deliveries of closed accounts that finished since
 * (DeliveriesService.eraseAccount). Every instance sweeps; the lease in DeliveriesService.attempt
 * keeps each attempt to one instance.
 */
@Injectable()
export class DeliveryRetriesService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(DeliveryRetriesService.name);
  private readonly pollMs: number;
  private readonly batch: number;
  private timer?: NodeJS.Timeout;
  private sweeping?: Promise<void>;

  constructor(
    private readonly repository: DeliveriesRepository,
    private readonly deliveries: DeliveriesService,
    private readonly clock: Clock,
    settings: NotificationSettings,
  ) {
    this.pollMs = settings.DELIVERY_RETRY_POLL_MS;
    this.batch = settings.SMTP_POOL_SIZE * 4;
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      this.sweeping ??= this.sweep().finally(() => (this.sweeping = undefined));
    }, this.pollMs);
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.sweeping;
  }

  /** Attempts every delivery due now, a batch at a time, then erases those of closed accounts that finished. */
  async sweep(): Promise<void> {
    try {
      await this.retryDue();
      await this.repository.eraseFinished(this.clock.now());
    } catch (error) {
      this.logger.warn(`retry sweep failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private async retryDue(): Promise<void> {
    for (;;) {
      const due = await this.repository.due(this.clock.now(), this.batch);
      if (due.length === 0) return;
      const outcomes = await Promise.all(due.map((d) => this.deliveries.attempt(d.eventId, d.recipient)));
      // Everything due was just rescheduled or finished; stop rather than spin while SMTP is down.
      const progressed = outcomes.some((o) => o === 'sent' || o === 'reconciled');
      if (!progressed || due.length < this.batch) return;
    }
  }
}
