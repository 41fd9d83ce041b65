import { Module } from '@nestjs/common';
import { DueKeysRepository } from './due-keys.repository';
import { MetricsController } from './metrics.controller';
import { ReminderScanService } from './reminder-scan.service';
import { ScanMetrics } from './scan-metrics';

/** The cron scan for due reminders, and its metrics at GET /metrics. */
@Module({
  controllers: [MetricsController],
  providers: [ReminderScanService, DueKeysRepository, ScanMetrics],
  exports: [ReminderScanService, ScanMetrics],
})
export class RemindersModule {}
