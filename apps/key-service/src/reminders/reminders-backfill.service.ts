import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { Clock } from '@keyward/platform';
import { KeyServiceSettings } from '../config/key-service.env';
import { KeysRepository } from '../keys/keys.repository';
import { firstReminderAt } from '../schedule/reminder-schedule';

/**
 * Gives active keys written before reminders existed (no `nextReminderAt`) their next reminder
 * time, once at start-up, so the scan sees them. Idempotent: the write expects the field still
 * unset and sets the same value whichever instance gets there.
 */
@Injectable()
export class RemindersBackfillService implements OnApplicationBootstrap {
  private readonly logger = new Logger(RemindersBackfillService.name);
  private readonly stages: number[];

  constructor(
    private readonly keys: KeysRepository,
    private readonly clock: Clock,
    settings: KeyServiceSettings,
  ) {
    this.stages = settings.REMINDER_STAGES_DAYS;
  }

  async onApplicationBootstrap(): Promise<void> {
    let scheduled = 0;
    for (const key of await this.keys.findUnscheduled()) {
      // As if scheduled at creation: stages that fell due since are then overdue, and the claim
      // sends only the most urgent of them, as after any downtime.
      const next = firstReminderAt(key.expiresAt, this.stages, key.createdAt);
      if (await this.keys.scheduleReminder(key._id, next, this.clock.now())) scheduled++;
    }
    if (scheduled > 0) this.logger.log({ scheduled }, 'scheduled reminders for keys that had none');
  }
}
