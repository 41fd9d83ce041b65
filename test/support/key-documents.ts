import { DAY_MS } from '@keyward/contracts';
import { Types } from 'mongoose';
import { randomBytes } from 'node:crypto';
import { Key, KeyStatus } from '../../apps/key-service/src/keys/key.schema';
import { labelKeyOf } from '../../apps/key-service/src/keys/labels';

/** A key document as key-service stores it, with its id. */
export type KeyDocumentFields = Key & { _id: Types.ObjectId };

/**
 * A key document for a test to write straight into the `keys` collection: typed by the schema
 * (a field it lacks does not compile), an active, unreminded key with a random hash and an empty
 * outbox unless `fields` say otherwise. `owner` is required; the label defaults to one unique by
 * id, its labelKey follows it, and the expiry is 180 days after creation.
 */
export function keyDocument(fields: Partial<KeyDocumentFields> & Pick<Key, 'owner'>): KeyDocumentFields {
  const _id = fields._id ?? new Types.ObjectId();
  const label = fields.label ?? `key ${_id.toHexString()}`;
  const createdAt = fields.createdAt ?? new Date();
  return {
    _id,
    hash: randomBytes(32).toString('base64url'),
    lastFive: 'abcde',
    label,
    labelKey: labelKeyOf(label),
    contacts: [],
    createdAt,
    expiresAt: new Date(createdAt.getTime() + 180 * DAY_MS),
    status: KeyStatus.Active,
    lastUsedAt: null,
    revokedAt: null,
    legacy: false,
    rotatedTo: null,
    nextReminderAt: null,
    remindersSent: [],
    outbox: [],
    outboxAt: null,
    ...fields,
  };
}
