import { Injectable } from '@nestjs/common';
import { Clock, Sweeper } from '@keyward/platform';
import { DAY_MS, HOUR_MS } from '@keyward/contracts';
import { KeyServiceSettings } from '../config/key-service.env';
import { ActivityRepository } from './activity.repository';

/** Deletes activity older than ACTIVITY_RETENTION_DAYS, at start and hourly. */
@Injectable()
export class ActivityRetentionSweeper extends Sweeper {
  private readonly retentionMs: number;

  constructor(
    private readonly activity: ActivityRepository,
    private readonly clock: Clock,
    settings: KeyServiceSettings,
  ) {
    super({ everyMs: HOUR_MS, atStart: true });
    this.retentionMs = settings.ACTIVITY_RETENTION_DAYS * DAY_MS;
  }

  protected async pass(): Promise<void> {
    const deleted = await this.activity.deleteBefore(new Date(this.clock.now().getTime() - this.retentionMs));
    if (deleted > 0) this.logger.log(`deleted ${deleted} activity entries past retention`);
  }
}
