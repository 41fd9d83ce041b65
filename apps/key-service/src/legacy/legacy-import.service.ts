import { Injectable, Logger } from '@nestjs/common';
import { isDuplicateKeyError } from '@keyward/mongo';
import { KeyServiceSettings } from '../config/key-service.env';
import { KeyHasher } from '../hashing/key-hasher';
import { KeyCap } from '../keys/key-cap';
import { KeyStatus } from '../keys/key.schema';
import { KeysRepository } from '../keys/keys.repository';
import { labelKeyOf } from '../keys/labels';
import { LEGACY_EXPIRES_AT } from '../keys/validity';
import { firstReminderAt } from '../schedule/reminder-schedule';
import { UsersRepository } from '../users/users.repository';
import { LegacyEntry, LegacyFileError } from './legacy-file';

export const LEGACY_LABEL = 'default';
export const LEGACY_LAST_FIVE = '*****';

export interface LegacyImportSummary {
  imported: number;
  alreadyImported: number;
  skipped: { entry: number; email: string; reason: string }[];
}

/**
 * Imports keys made before multi-key support, with label `default`, last five `*****` and the
 * fixed legacy expiry. Safe to re-run: a key whose hash is stored is not imported again, and an
 * account holds one `default` label.
 *
 * No KeyCreated is emitted: these keys are not new (their owners have used them for years), and
 * a "new key created" email for each would be false and alarming. Reminders and the expiry
 * notice follow from the stored expiry like any other key's (none once that date has passed).
 */
@Injectable()
export class LegacyImportService {
  private readonly logger = new Logger(LegacyImportService.name);
  private readonly reminderStages: number[];

  constructor(
    private readonly users: UsersRepository,
    private readonly keys: KeysRepository,
    private readonly cap: KeyCap,
    private readonly hasher: KeyHasher,
    settings: KeyServiceSettings,
  ) {
    this.reminderStages = settings.REMINDER_STAGES_DAYS;
  }

  async import(entries: LegacyEntry[], now = new Date()): Promise<LegacyImportSummary> {
    const hashes = this.hashes(entries);
    await this.keys.indexesReady();
    const summary: LegacyImportSummary = { imported: 0, alreadyImported: 0, skipped: [] };
    // Imported after the legacy expiry: already expired, so no reminders and no "expired" notice
    // for a key that stopped working before keyward knew of it.
    const active = LEGACY_EXPIRES_AT > now;
    for (const [index, entry] of entries.entries()) {
      const user = await this.users.findOrCreate(entry.email, now);
      const ownerId = user.id as string;
      try {
        const keyId = await this.keys.insertUnlessHashExists(
          {
            owner: { userId: ownerId, email: user.email, timeZone: user.timeZone },
            hash: hashes[index],
            lastFive: LEGACY_LAST_FIVE,
            label: LEGACY_LABEL,
            labelKey: labelKeyOf(LEGACY_LABEL),
            contacts: entry.contacts,
            // When the key was really made is unknown; this is when keyward learnt of it.
            createdAt: now,
            expiresAt: LEGACY_EXPIRES_AT,
            status: active ? KeyStatus.Active : KeyStatus.Expired,
            nextReminderAt: active ? firstReminderAt(LEGACY_EXPIRES_AT, this.reminderStages, now) : null,
            remindersSent: [],
            lastUsedAt: null,
            revokedAt: null,
            legacy: true,
            rotatedTo: null,
          },
          now,
        );
        // A working key added outside the cap's lease (the import does not enforce the limit); also
        // when found already imported, in case a run stopped between the insert and this.
        if (active) await this.cap.keysAddedElsewhere(ownerId);
        if (keyId) {
          summary.imported++;
          this.logger.log(`legacy key ${keyId} imported for owner ${ownerId}`);
        } else {
          summary.alreadyImported++;
        }
      } catch (error) {
        if (!isDuplicateKeyError(error)) throw error;
        summary.skipped.push({
          entry: index,
          email: user.email,
          reason: `the account already has another key labelled "${LEGACY_LABEL}"`,
        });
      }
    }
    return summary;
  }

  /** The stored hash of each entry; an entry giving both key and hash must have them agree. */
  private hashes(entries: LegacyEntry[]): string[] {
    const mismatched: number[] = [];
    const hashes = entries.map((entry, index) => {
      const hash = entry.key !== undefined ? this.hasher.hash(entry.key) : (entry.keyHash as string);
      if (entry.keyHash !== undefined && entry.keyHash !== hash) mismatched.push(index);
      return hash;
    });
    if (mismatched.length > 0) {
      throw new LegacyFileError(
        `entries ${mismatched.join(', ')} give a key and a keyHash that do not match (is KEY_HASH_SECRET the one the hashes were made with?)`,
      );
    }
    return hashes;
  }
}
