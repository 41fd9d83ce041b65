import { Prop, Schema, SchemaFactory } from '@nestjs/mongoose';
import { HydratedDocument, SchemaTypes } from 'mongoose';

export const ACTIVITY_ACTIONS = [
  'created',
  'contacts_changed',
  'rotated',
  'revoked',
  'expired',
  'reminder_sent',
  'leak_reported',
  'verification_failed',
] as const;
export type ActivityAction = (typeof ACTIVITY_ACTIONS)[number];

export const ACTORS = ['user', 'scheduler', 'scanner', 'service'] as const;
export type ActorKind = (typeof ACTORS)[number];

/**
 * One thing that happened to a key, projected from its key event: the `activity` read model.
 * Keyed by the event's id, so a redelivered event is recorded once.
 */
@Schema({ collection: 'activity', versionKey: false })
export class ActivityEntry {
  /** The key event's id. */
  @Prop({ required: true }) _id: string;
  @Prop({ required: true }) ownerId: string;
  @Prop({ required: true }) keyId: string;
  @Prop({ required: true }) at: Date;
  @Prop({ required: true, type: String, enum: ACTIVITY_ACTIONS }) action: ActivityAction;
  @Prop({ required: true }) label: string;
  @Prop({ required: true }) lastFive: string;
  @Prop({ required: true, type: String, enum: ACTORS }) actor: ActorKind;
  /** Who, in words: the account's email, "keyward's scheduler", or the reporting scanner. */
  @Prop({ required: true }) actorName: string;
  /** The client address of the user's request (user actions recorded since addresses were). */
  @Prop({ type: String, default: null }) from: string | null;
  /** What an entry of this action says beyond the key (contacts added, stage, where a leak was found…). */
  @Prop({ type: SchemaTypes.Mixed, default: {} }) details: Record<string, unknown>;
}

export type ActivityEntryDocument = HydratedDocument<ActivityEntry>;
export const ActivityEntrySchema = SchemaFactory.createForClass(ActivityEntry);
/** Newest first per account and per key; _id breaks ties for keyset paging. */
ActivityEntrySchema.index({ ownerId: 1, at: -1, _id: -1 });
ActivityEntrySchema.index({ ownerId: 1, keyId: 1, at: -1, _id: -1 });
/** The retention sweep. */
ActivityEntrySchema.index({ at: 1 });
