import { Injectable } from '@nestjs/common';
import { InjectConnection } from '@nestjs/mongoose';
import { Connection } from 'mongoose';

/** How far the schedulers have looked, shared by every scheduler-service instance. */
export interface ScanProgress {
  /** The last calendar minute whose keys were sent. */
  calendarReadTo: Date;
  /** When the last full scan (the safety net) looked. */
  fullScanAt: Date;
}

const PROGRESS_ID = 'reminders';

/**
 * scheduler-service's own `reminder_scan_progress` collection (one document), written only after a
 * pass has sent its commands, so a pass that dies reads its minutes again.
 */
@Injectable()
export class ScanProgressRepository {
  constructor(@InjectConnection() private readonly connection: Connection) {}

  async read(): Promise<ScanProgress | null> {
    return this.progress().findOne({ _id: PROGRESS_ID }, { projection: { _id: 0 } });
  }

  /** A full scan looked at `fullScanAt`; the calendar is read from `calendarReadTo` on (even if a clock went back). */
  async recordFullScan(progress: ScanProgress): Promise<void> {
    await this.progress().updateOne({ _id: PROGRESS_ID }, { $set: progress }, { upsert: true });
  }

  /** The calendar was read up to this minute; only forwards, so racing schedulers never move it back. */
  async recordCalendarRead(calendarReadTo: Date): Promise<void> {
    await this.progress().updateOne({ _id: PROGRESS_ID }, { $max: { calendarReadTo } }, { upsert: true });
  }

  private progress() {
    return this.connection.collection<ScanProgress & { _id: string }>('reminder_scan_progress');
  }
}
