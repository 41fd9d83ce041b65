import { Injectable } from '@nestjs/common';
import { Clock } from '@keyward/platform';
import { ActivityRepository } from '../activity/activity.repository';
import { ActivityEntryResponse } from '../activity/dto/activity.response';
import { KeyResponse } from '../keys/dto/key.response';
import { KeysRepository } from '../keys/keys.repository';
import { UserDocument } from '../users/user.schema';
import { AccountSessionsService } from './account-sessions.service';
import { AccountExportResponse, EMAILS_NOT_INCLUDED } from './dto/account-export.response';

/**
 * Everything key-service holds about an account, as one document: the account, where it is
 * signed in, its keys (metadata; never a hash), who their contacts are, and its activity. The emails sent are
 * notification-service's records, which key-service does not read (see EMAILS_NOT_INCLUDED).
 */
@Injectable()
export class AccountExport {
  constructor(
    private readonly keys: KeysRepository,
    private readonly activity: ActivityRepository,
    private readonly sessions: AccountSessionsService,
    private readonly clock: Clock,
  ) {}

  /** The export of `user`'s account, asked for by the session stored under `currentSessionKey`. */
  async of(user: UserDocument, currentSessionKey: string): Promise<AccountExportResponse> {
    const now = this.clock.now();
    const userId = user.id as string;
    const [keyDocs, activity, sessions] = await Promise.all([
      this.keys.listByOwner(userId),
      this.activity.allOf(userId),
      this.sessions.list(userId, currentSessionKey),
    ]);
    const keys = keyDocs.map((doc) => KeyResponse.from(doc, now));
    const contacts = new Map<string, string[]>();
    for (const key of keys)
      for (const email of key.contacts) contacts.set(email, [...(contacts.get(email) ?? []), key.id]);
    return {
      exportedAt: now.toISOString(),
      account: {
        id: userId,
        email: user.email,
        username: user.username,
        timeZone: user.timeZone,
        createdAt: user.createdAt.toISOString(),
      },
      sessions,
      keys,
      contacts: [...contacts]
        .map(([email, keyIds]) => ({ email, keyIds }))
        .sort((a, b) => a.email.localeCompare(b.email)),
      activity: activity.map((entry) => ActivityEntryResponse.from(entry)),
      emails: EMAILS_NOT_INCLUDED,
    };
  }
}
