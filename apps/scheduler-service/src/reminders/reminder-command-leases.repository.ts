import { Injectable, OnModuleInit } from '@nestjs/common';
import { InjectConnection } from '@nestjs/mongoose';
import { claimEach } from '@keyward/mongo';
import { Connection } from 'mongoose';

/** A key's reminder due by a calendar minute: what one RecordReminderDue command asks about. */
export interface ReminderDue {
  keyId: string;
  /** The calendar minute the reminder is due by (calendarMinuteOf its due time). */
  dueBy: Date;
}

/** One command in flight: the key's reminder due by a minute, sent until `until`. */
interface CommandLease {
  /** `<keyId>@<dueBy ISO>`: a key's next reminder is one stage, so one lease per stage. */
  _id: string;
  sentAt: Date;
  until: Date;
}

/**
 * The RecordReminderDue commands in flight, in scheduler-service's own collection
 * `reminder_command_leases` (key-service stays the only writer of keys). A command is sent only
 * by the scheduler that inserts its lease (unique `_id`, so of racing schedulers exactly one
 * wins); while the lease lasts no pass sends it again. When key-service records the reminder, the
 * key's next due time moves and so does the lease id; a lease that lapses (the command was lost,
 * or key-service judged it not due) is deleted and the next full scan sends again.
 */
@Injectable()
export class ReminderCommandLeases implements OnModuleInit {
  constructor(@InjectConnection() private readonly connection: Connection) {}

  async onModuleInit(): Promise<void> {
    await this.leases().createIndex({ until: 1 });
  }

  /** Drops lapsed leases, so their keys can be claimed again; each pass calls it once first. */
  async dropLapsed(now: Date): Promise<void> {
    await this.leases().deleteMany({ until: { $lte: now } });
  }

  /** Claims the reminders of a page whose command no one has in flight; the claimed ones are to be sent. */
  async claim(keys: ReminderDue[], now: Date, leaseMs: number): Promise<ReminderDue[]> {
    if (keys.length === 0) return [];
    const until = new Date(now.getTime() + leaseMs);
    const leases = keys.map((key) => ({ _id: leaseId(key), sentAt: now, until }));
    const claimed = await claimEach(this.leases(), leases);
    return keys.filter((_, i) => claimed[i]);
  }

  /** Frees claims whose commands were not sent after all. */
  async release(keys: ReminderDue[]): Promise<void> {
    if (keys.length > 0) await this.leases().deleteMany({ _id: { $in: keys.map(leaseId) } });
  }

  private leases() {
    return this.connection.collection<CommandLease>('reminder_command_leases');
  }
}

function leaseId(due: ReminderDue): string {
  return `${due.keyId}@${due.dueBy.toISOString()}`;
}
