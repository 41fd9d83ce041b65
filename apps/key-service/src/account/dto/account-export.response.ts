import { ApiProperty } from '@nestjs/swagger';
import { ActivityEntryResponse } from '../../activity/dto/activity.response';
import { KeyResponse } from '../../keys/dto/key.response';
import { AccountSessionResponse } from './account-session.response';

export class ExportedAccount {
  @ApiProperty() id: string;
  @ApiProperty({ description: 'The login email' }) email: string;
  @ApiProperty({ description: 'The handle every key of the account starts with' }) username: string;
  @ApiProperty({ description: 'IANA time zone of emails and Settings' }) timeZone: string;
  @ApiProperty() createdAt: string;
}

export class ExportedContact {
  @ApiProperty() email: string;
  @ApiProperty({ type: [String], description: 'The keys this address is a contact of' }) keyIds: string[];
}

export class ExportedEmails {
  @ApiProperty({ description: 'Whether the emails sent are in this document (they are not, yet)' }) included: boolean;
  @ApiProperty() reason: string;
}

/** Why the delivery records are not in the export, said in the export itself. */
export const EMAILS_NOT_INCLUDED: ExportedEmails = {
  included: false,
  reason:
    'Emails are sent and recorded by keyward’s notification service, which keeps its own database; this document holds what the key service holds. Which emails your keys caused, and to whom, is in `activity` (created, contacts_changed, rotated, revoked, reminder_sent, leak_reported).',
};

/** GET /v1/account/export: everything keyward's key service holds about the account, in one document. */
export class AccountExportResponse {
  @ApiProperty() exportedAt: string;
  @ApiProperty({ type: ExportedAccount }) account: ExportedAccount;
  @ApiProperty({ type: [AccountSessionResponse], description: 'Where the account is signed in, as Settings shows it' })
  sessions: AccountSessionResponse[];
  @ApiProperty({
    type: [KeyResponse],
    description: 'Every key, newest first: metadata only, never the key or its hash',
  })
  keys: KeyResponse[];
  @ApiProperty({ type: [ExportedContact], description: 'Every contact address of the account’s keys' })
  contacts: ExportedContact[];
  @ApiProperty({ type: [ActivityEntryResponse], description: 'The whole activity of the account, newest first' })
  activity: ActivityEntryResponse[];
  @ApiProperty({ type: ExportedEmails }) emails: ExportedEmails;
}
