import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { isoDate } from '../envelope';
import { parseMessage, validate } from '../validation';

/**
 * scheduler-service → key-service on Topic.KeyReminderCommands, keyed by keyId: "as of this time,
 * this key's next reminder (or its expiry) looked due". key-service decides from its own record
 * which stage that is and claims it once; a repeated or stale command records nothing.
 */
export const RECORD_REMINDER_DUE = 'RecordReminderDue';
export const RECORD_REMINDER_DUE_VERSION = 1;

export const recordReminderDueSchema = z
  .object({
    commandId: z.string().uuid(),
    type: z.literal(RECORD_REMINDER_DUE),
    version: z.literal(RECORD_REMINDER_DUE_VERSION),
    keyId: z.string().min(1),
    /**
     * The scheduler's time when it found the key due; key-service judges the stage and days left
     * from it, never taking it as later than its own clock.
     */
    asOf: isoDate,
  })
  .strict();

export type RecordReminderDue = z.infer<typeof recordReminderDueSchema>;

export function buildRecordReminderDue(fields: { keyId: string; asOf: Date }): RecordReminderDue {
  const command = {
    commandId: randomUUID(),
    type: RECORD_REMINDER_DUE,
    version: RECORD_REMINDER_DUE_VERSION,
    keyId: fields.keyId,
    asOf: fields.asOf.toISOString(),
  };
  return validate(recordReminderDueSchema, command, RECORD_REMINDER_DUE);
}

/** Parses raw bytes from the reminder-commands topic; throws InvalidMessageError with a readable reason. */
export function parseRecordReminderDue(raw: Buffer | string | null): RecordReminderDue {
  return parseMessage(recordReminderDueSchema, raw);
}
