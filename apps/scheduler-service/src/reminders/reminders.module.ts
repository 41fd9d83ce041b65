import { Module } from '@nestjs/common';
import { DueKeysRepository } from './due-keys.repository';
import { ReminderCommandLeases } from './reminder-command-leases.repository';
import { ReminderScanService } from './reminder-scan.service';
import { ScanMetrics } from './scan.metrics';

/** The cron scan for due reminders, and its metrics. */
@Module({
  providers: [ReminderScanService, DueKeysRepository, ReminderCommandLeases, ScanMetrics],
  exports: [ReminderScanService, ScanMetrics],
})
export class RemindersModule {}
