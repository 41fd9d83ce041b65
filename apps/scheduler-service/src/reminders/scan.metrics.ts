import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface PassResult {
  /** A full scan of the keys (the safety net) rather than a read of the calendar. */
  full: boolean;
  keysDue: number;
  commandsSent: number;
  durationMs: number;
  failed: boolean;
}

/** The reminder scan's passes, in the service's Prometheus registry (GET /metrics). */
@Injectable()
export class ScanMetrics {
  private readonly passes: Counter;
  private readonly fullPasses: Counter;
  private readonly failures: Counter;
  private readonly keysDue: Counter;
  private readonly commandsSent: Counter;
  private readonly duration: Histogram;
  private readonly lastKeysDue: Gauge;
  private readonly lastCommandsSent: Gauge;
  private readonly lastDuration: Gauge;

  constructor(registry: Registry) {
    const registers = [registry];
    this.passes = new Counter({
      name: 'keyward_reminder_scan_passes_total',
      help: 'Reminder scan passes run.',
      registers,
    });
    this.fullPasses = new Counter({
      name: 'keyward_reminder_scan_full_passes_total',
      help: 'Passes that scanned every key (the safety net) instead of reading the reminder calendar.',
      registers,
    });
    this.failures = new Counter({
      name: 'keyward_reminder_scan_failures_total',
      help: 'Passes that stopped on an error.',
      registers,
    });
    this.keysDue = new Counter({
      name: 'keyward_reminder_scan_keys_due_total',
      help: 'Due keys found (listed in the calendar, or by a full scan), over all passes.',
      registers,
    });
    this.commandsSent = new Counter({
      name: 'keyward_reminder_scan_commands_sent_total',
      help: 'Commands sent to key-service.',
      registers,
    });
    this.duration = new Histogram({
      name: 'keyward_reminder_scan_duration_seconds',
      help: 'Reminder scan passes by duration.',
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60],
      registers,
    });
    this.lastKeysDue = new Gauge({
      name: 'keyward_reminder_scan_last_keys_due',
      help: 'Due keys found by the last pass.',
      registers,
    });
    this.lastCommandsSent = new Gauge({
      name: 'keyward_reminder_scan_last_commands_sent',
      help: 'Commands sent by the last pass.',
      registers,
    });
    this.lastDuration = new Gauge({
      name: 'keyward_reminder_scan_last_duration_seconds',
      help: 'Duration of the last pass.',
      registers,
    });
  }

  record(result: PassResult): void {
    this.passes.inc();
    if (result.full) this.fullPasses.inc();
    if (result.failed) this.failures.inc();
    this.keysDue.inc(result.keysDue);
    this.commandsSent.inc(result.commandsSent);
    this.duration.observe(result.durationMs / 1000);
    this.lastKeysDue.set(result.keysDue);
    this.lastCommandsSent.set(result.commandsSent);
    this.lastDuration.set(result.durationMs / 1000);
  }
}
