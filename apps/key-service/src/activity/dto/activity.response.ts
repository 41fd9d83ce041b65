import { ApiProperty } from '@nestjs/swagger';
import { KEY_ID_PATTERN } from '@keyward/contracts';
import { ACTIVITY_ACTIONS, ACTORS, ActivityAction, ActivityEntry, ActorKind } from '../activity-entry.schema';

export class ActivityEntryResponse {
  @ApiProperty({ description: 'The key event this entry records (`<eventId>:replacement` for a rotation’s new key)' })
  id: string;
  @ApiProperty({ pattern: KEY_ID_PATTERN }) keyId: string;
  @ApiProperty() label: string;
  @ApiProperty() lastFive: string;
  @ApiProperty({ format: 'date-time' }) at: string;
  @ApiProperty({ enum: ACTIVITY_ACTIONS }) action: ActivityAction;
  @ApiProperty({ enum: ACTORS, description: 'Who did it: the account’s user, keyward’s scheduler, or a leak scanner' })
  actor: ActorKind;
  @ApiProperty({ description: 'The user’s email, "keyward’s scheduler", or the scanner that reported a leak' })
  actorName: string;
  @ApiProperty({ nullable: true, type: String, description: 'Client address of the user’s request' })
  from: string | null;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description:
      'created: contacts (and replaces: the rotated key’s id, for a rotation’s new key); contacts_changed: added, removed; rotated: newKeyId, newLabel, oldKeyExpiresAt; revoked: cause (owner | leak); reminder_sent: daysLeft, to; leak_reported: url, source, response (revoked | notified); verification_failed: revoked, expired (refusals of this key in that hour)',
  })
  details: Record<string, unknown>;

  static from(entry: ActivityEntry): ActivityEntryResponse {
    return {
      id: entry._id,
      keyId: entry.keyId,
      label: entry.label,
      lastFive: entry.lastFive,
      at: entry.at.toISOString(),
      action: entry.action,
      actor: entry.actor,
      actorName: entry.actorName,
      from: entry.from ?? null,
      details: entry.details,
    };
  }
}

export class ActivityPageResponse {
  @ApiProperty({ type: [ActivityEntryResponse], description: 'Newest first' }) entries: ActivityEntryResponse[];
  @ApiProperty({ nullable: true, type: String, description: 'Pass as `cursor` for the next page; null on the last' })
  nextCursor: string | null;
}
