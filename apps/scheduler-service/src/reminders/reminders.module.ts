import { Module } from '@nestjs/common';
import { DueKeysRepository } from './due-keys.repository';
import { ReminderCalendarRepository } from './reminder-calendar.repository';
import { ReminderCommandLeases } from './reminder-command-leases.repository';
import { ReminderScanService } from './reminder-scan.service';
import { ScanMetrics } from './scan.metrics';
import { ScanProgressRepository } from './scan-progress.repository';

/** The cron pass over due reminders (the calendar, and the full scan as safety net), and its metrics. */
@Module({
  providers: [
    ReminderScanService,
    DueKeysRepository,
    ReminderCalendarRepository,
    ScanProgressRepository,
    ReminderCommandLeases,
    ScanMetrics,
  ],
  exports: [ReminderScanService, ScanMetrics],
})
export class RemindersModule {}
