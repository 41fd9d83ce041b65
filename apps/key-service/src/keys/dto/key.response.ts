import { ApiProperty } from '@nestjs/swagger';
import { KEY_ID_PATTERN } from '@keyward/contracts';
import { KeyDocument, KeyStatus, LeakResponse } from '../key.schema';

export class KeyResponse {
  @ApiProperty({ pattern: KEY_ID_PATTERN }) id: string;
  @ApiProperty() label: string;
  @ApiProperty({
    description: 'Last five characters of the key; `*****` for legacy keys',
  })
  lastFive: string;
  @ApiProperty({ type: [String] }) contacts: string[];
  @ApiProperty({ format: 'date-time' }) createdAt: string;
  @ApiProperty({ format: 'date-time' }) expiresAt: string;
  /** A pending replacement is never shown, so the API knows three statuses. */
  @ApiProperty({ enum: [KeyStatus.Active, KeyStatus.Revoked, KeyStatus.Expired] }) status: KeyStatus;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) lastUsedAt: string | null;
  @ApiProperty({
    nullable: true,
    type: String,
    pattern: KEY_ID_PATTERN,
    description: 'Id of the key that replaced this one by rotation; it cannot be rotated again',
  })
  replacedBy: string | null;
  @ApiProperty({
    enum: LeakResponse,
    description: 'What keyward does when this key is reported leaked: revoke it at once, or notify only',
  })
  leakResponse: LeakResponse;
  @ApiProperty({
    nullable: true,
    type: String,
    format: 'date-time',
    description: 'When this key was first reported leaked',
  })
  leakReportedAt: string | null;

  static from(doc: KeyDocument, now = new Date()): KeyResponse {
    return {
      id: doc.id as string,
      label: doc.label,
      lastFive: doc.lastFive,
      contacts: doc.contacts,
      createdAt: doc.createdAt.toISOString(),
      expiresAt: doc.expiresAt.toISOString(),
      // A key past its expiry reads as expired even before the scheduler has recorded it.
      status: doc.status === KeyStatus.Active && doc.expiresAt <= now ? KeyStatus.Expired : doc.status,
      lastUsedAt: doc.lastUsedAt?.toISOString() ?? null,
      replacedBy: doc.rotatedTo ?? null,
      leakResponse: doc.leakResponse ?? LeakResponse.Revoke,
      leakReportedAt: doc.leakReportedAt?.toISOString() ?? null,
    };
  }
}

/** The one response that holds the key itself, shown once. */
export class CreatedKeyResponse extends KeyResponse {
  @ApiProperty({
    description: 'The full key. Shown once; only its hash is kept.',
  })
  key: string;
}
