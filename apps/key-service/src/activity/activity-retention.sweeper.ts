import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Clock } from '@keyward/platform';
import { DAY_MS } from '@keyward/contracts';
import { KeyServiceSettings } from '../config/key-service.env';
import { ActivityRepository } from './activity.repository';

const SWEEP_EVERY_MS = 60 * 60_000;

/** Deletes activity older than ACTIVITY_RETENTION_DAYS (keyward uses no TTL indexes: see libs/mongo), at start and hourly. */
@Injectable()
export class ActivityRetentionSweeper implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ActivityRetentionSweeper.name);
  private readonly retentionMs: number;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly activity: ActivityRepository,
    private readonly clock: Clock,
    settings: KeyServiceSettings,
  ) {
    this.retentionMs = settings.ACTIVITY_RETENTION_DAYS * DAY_MS;
  }

  onApplicationBootstrap(): void {
    void this.sweep();
    this.timer = setInterval(() => void this.sweep(), SWEEP_EVERY_MS).unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  async sweep(): Promise<void> {
    try {
      const deleted = await this.activity.deleteBefore(new Date(this.clock.now().getTime() - this.retentionMs));
      if (deleted > 0) this.logger.log(`deleted ${deleted} activity entries past retention`);
    } catch (error) {
      this.logger.warn(`sweep failed, retrying next time: ${(error as Error).message}`);
    }
  }
}
