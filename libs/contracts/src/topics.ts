import { DAY_MS, HOUR_MS } from './durations';
/**
 * Every Kafka topic keyward uses. The suffix is the contract version: a breaking change is a
 * new topic beside the old one, never an edit of this list.
 */
export enum Topic {
  /** All key events, keyed by keyId so each key's events stay in order across event types. */
  KeyEvents = 'keyward.key-events.1',
  /** scheduler-service → key-service: record a due reminder stage or an expiry. */
  KeyReminderCommands = 'keyward.key-reminder-commands.1',
  /** key-service → notification-service: one-time login codes to email (the code sealed). */
  LoginCodes = 'keyward.login-codes.1',
  /** Internal services → key-service: verify a key (request/reply; the key sealed). */
  KeyVerify = 'keyward.key-verify.1',
  /** key-service → the asking instance: the verification (the reply partition names the asker). */
  KeyVerifyReply = 'keyward.key-verify.1.reply',
  /** Messages a consumer could not process, with the reason and the original bytes. */
  DeadLetter = 'keyward.dead-letter.1',
}

export interface TopicSpec {
  partitions: number;
  retentionMs: number;
}

/** Partitions and retention chosen on purpose; created explicitly (auto-create is off). */
export const TOPIC_SPECS: Record<Topic, TopicSpec> = {
  [Topic.KeyEvents]: { partitions: 6, retentionMs: 14 * DAY_MS },
  [Topic.KeyReminderCommands]: { partitions: 6, retentionMs: 7 * DAY_MS },
  [Topic.LoginCodes]: { partitions: 3, retentionMs: 1 * DAY_MS },
  [Topic.DeadLetter]: { partitions: 1, retentionMs: 30 * DAY_MS },
  // Requests and replies are worthless after their timeout; keep them an hour for debugging.
  [Topic.KeyVerify]: { partitions: 6, retentionMs: HOUR_MS },
  [Topic.KeyVerifyReply]: { partitions: 6, retentionMs: HOUR_MS },
};
