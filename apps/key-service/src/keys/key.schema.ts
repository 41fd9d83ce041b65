import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';
import { ACTIVE_KEY_STATUS, KEY_REMINDER_INDEX, KEYS_COLLECTION } from '@keyward/contracts';
import { HydratedDocument } from 'mongoose';
import { OutboxEntry, OutboxEntrySchema, OutboxFields } from '../outbox/outbox-entry.schema';

/** What keyward does when a key is reported leaked: revoke it at once (the default) or only tell its people. */
export enum LeakResponse {
  Revoke = 'revoke',
  Notify = 'notify',
}

export enum KeyStatus {
  /**
   * A rotation's replacement before the rotation commits: it never verifies, is never listed or
   * reminded, and no event names it until the old key's KeyRotated (the commit) does.
   */
  Pending = 'pending',
  Active = ACTIVE_KEY_STATUS,
  Revoked = 'revoked',
  Expired = 'expired',
}

@Schema({ _id: false })
export class KeyOwner {
  @Prop({ required: true }) userId: string;
  @Prop({ required: true }) email: string;
  @Prop({ required: true }) timeZone: string;
}
const KeyOwnerSchema = SchemaFactory.createForClass(KeyOwner);

@Schema({ collection: KEYS_COLLECTION, versionKey: false })
export class Key implements OutboxFields {
  @Prop({ required: true, type: KeyOwnerSchema }) owner: KeyOwner;
  /** HMAC of the whole key; the key itself is never stored. */
  @Prop({ required: true }) hash: string;
  @Prop({ required: true }) lastFive: string;
  @Prop({ required: true }) label: string;
  /** Lowercased label: labels are unique per account regardless of case. */
  @Prop({ required: true }) labelKey: string;
  @Prop({ type: [String], default: [] }) contacts: string[];
  @Prop({ required: true }) createdAt: Date;
  @Prop({ required: true }) expiresAt: Date;
  @Prop({ required: true, enum: KeyStatus, type: String }) status: KeyStatus;
  @Prop({ type: Date, default: null }) lastUsedAt: Date | null;
  @Prop({ type: Date, default: null }) revokedAt: Date | null;
  /** Imported from before multi-key support: label `default`, last five `*****`. */
  @Prop({ default: false }) legacy: boolean;
  /** Set on a rotated key: the id of its replacement. A key is rotated at most once. */
  @Prop({ type: String, default: null }) rotatedTo?: string | null;
  /**
   * Set on a rotation's replacement: the id of the key it replaces. Unique, so inserting the
   * replacement is the atomic claim on the rotation. Absent (never null) on other keys, under a
   * unique sparse index: a claim field as docs/stack.md describes it.
   */
  @Prop({ type: String }) replaces?: string;
  /**
   * When the next reminder stage (or the expiry itself) falls due; null once nothing is left.
   * Kept by key-service with schedule/reminder-schedule.ts; scheduler-service scans it (KeyReminderFields).
   */
  @Prop({ type: Date, default: null }) nextReminderAt?: Date | null;
  /** Reminder stages (days before expiry) already sent, each claimed exactly once. */
  @Prop({ type: [Number], default: [] }) remindersSent?: number[];
  /** Absent on keys stored before the setting existed: they read as LeakResponse.Revoke. */
  @Prop({ type: String, enum: LeakResponse }) leakResponse?: LeakResponse;
  /** When the key was first reported leaked: a key's leak is handled (and emailed) once. */
  @Prop({ type: Date }) leakReportedAt?: Date | null;
  /**
   * Set when the owner closed the account: the key is revoked and stripped to what verification
   * needs to answer `revoked` (hash, status, owner id, expiry) until then, when the
   * ClosedAccountsSweeper deletes it. Absent on every other key.
   */
  @Prop({ type: Date }) retainedUntil?: Date;
  @Prop({ type: [OutboxEntrySchema], default: [] }) outbox: OutboxEntry[];
  @Prop({ type: Date, default: null }) outboxAt: Date | null;
}

export type KeyDocument = HydratedDocument<Key>;
export const KeySchema = SchemaFactory.createForClass(Key);
KeySchema.index({ hash: 1 }, { unique: true });
KeySchema.index({ 'owner.userId': 1, labelKey: 1 }, { unique: true });
KeySchema.index({ 'owner.userId': 1, createdAt: -1 });
KeySchema.index({ outboxAt: 1 });
/** scheduler-service's reminder scan (read contract in libs/contracts). */
KeySchema.index(KEY_REMINDER_INDEX);
KeySchema.index({ replaces: 1 }, { unique: true, sparse: true });
/** The sweep of closed accounts' keys (a plain index: keyward uses no TTL indexes, see libs/mongo). */
KeySchema.index({ retainedUntil: 1 });
