import { Injectable } from '@nestjs/common';
import { HOUR_MS } from '@keyward/contracts';
import { Clock, Sweeper } from '@keyward/platform';
import { ReminderCalendar } from './reminder-calendar';

/**
 * Minutes kept after they have passed: more than a scheduler ever reads back (it falls back to a
 * full scan after REMINDER_FULL_SCAN_EVERY_MS, at most 7 days), so only minutes nobody reads go.
 */
const KEEP_MS = 8 * 24 * HOUR_MS;

/** Deletes reminder calendar minutes long past, at start and hourly, so the calendar grows with what is ahead. */
@Injectable()
export class ReminderCalendarSweeper extends Sweeper {
  constructor(
    private readonly calendar: ReminderCalendar,
    private readonly clock: Clock,
  ) {
    super({ everyMs: HOUR_MS, atStart: true });
  }

  protected async pass(): Promise<void> {
    const deleted = await this.calendar.deleteBefore(new Date(this.clock.now().getTime() - KEEP_MS));
    if (deleted > 0) this.logger.log(`deleted ${deleted} reminder calendar minutes long past`);
  }
}
