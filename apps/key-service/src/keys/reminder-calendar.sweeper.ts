import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Clock } from '@keyward/platform';
import { ReminderCalendar } from './reminder-calendar';

const SWEEP_EVERY_MS = 60 * 60_000;
/**
 * Minutes kept after they have passed: more than a scheduler ever reads back (it falls back to a
 * full scan after REMINDER_FULL_SCAN_EVERY_MS, at most 7 days), so only minutes nobody reads go.
 */
const KEEP_MS = 8 * 24 * 60 * 60_000;

/** Deletes reminder calendar minutes long past, at start and hourly, so the calendar grows with what is ahead. */
@Injectable()
export class ReminderCalendarSweeper implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ReminderCalendarSweeper.name);
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly calendar: ReminderCalendar,
    private readonly clock: Clock,
  ) {}

  onApplicationBootstrap(): void {
    void this.sweep();
    this.timer = setInterval(() => void this.sweep(), SWEEP_EVERY_MS).unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  async sweep(): Promise<void> {
    try {
      const deleted = await this.calendar.deleteBefore(new Date(this.clock.now().getTime() - KEEP_MS));
      if (deleted > 0) this.logger.log(`deleted ${deleted} reminder calendar minutes long past`);
    } catch (error) {
      this.logger.warn(`sweep failed, retrying next time: ${(error as Error).message}`);
    }
  }
}
