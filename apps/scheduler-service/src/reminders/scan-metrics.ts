import { Injectable } from '@nestjs/common';

export interface PassResult {
  keysDue: number;
  commandsSent: number;
  durationMs: number;
  failed: boolean;
}

/** Counters of the reminder scan, rendered in Prometheus's text format (no client library needed for five series). */
@Injectable()
export class ScanMetrics {
  private passes = 0;
  private failures = 0;
  private keysDue = 0;
  private commandsSent = 0;
  private last?: PassResult;

  record(result: PassResult): void {
    this.passes++;
    if (result.failed) this.failures++;
    this.keysDue += result.keysDue;
    this.commandsSent += result.commandsSent;
    this.last = result;
  }

  prometheus(): string {
    const lines: string[] = [];
    const metric = (name: string, type: string, help: string, value: number) =>
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name} ${value}`);
    metric('keyward_reminder_scan_passes_total', 'counter', 'Reminder scan passes run.', this.passes);
    metric('keyward_reminder_scan_failures_total', 'counter', 'Passes that stopped on an error.', this.failures);
    metric('keyward_reminder_scan_keys_due_total', 'counter', 'Due keys found, over all passes.', this.keysDue);
    metric('keyward_reminder_scan_commands_sent_total', 'counter', 'Commands sent to key-service.', this.commandsSent);
    if (this.last) {
      metric('keyward_reminder_scan_last_keys_due', 'gauge', 'Due keys found by the last pass.', this.last.keysDue);
      metric(
        'keyward_reminder_scan_last_commands_sent',
        'gauge',
        'Commands sent by the last pass.',
        this.last.commandsSent,
      );
      metric(
        'keyward_reminder_scan_last_duration_seconds',
        'gauge',
        'Duration of the last pass.',
        this.last.durationMs / 1000,
      );
    }
    return lines.join('\n') + '\n';
  }
}
