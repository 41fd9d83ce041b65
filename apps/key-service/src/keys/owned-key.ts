import { NotFoundException } from '@nestjs/common';
import { UserDocument } from '../users/user.schema';
import { KeyDocument } from './key.schema';
import { KeysRepository } from './keys.repository';

export const noSuchKey = (id: string) => new NotFoundException(`No key with id "${id}" on this account`);

/** The user's key with this id, or 404: another account's key is as unknown as a missing one. */
export async function ownedKey(keys: KeysRepository, user: UserDocument, id: string): Promise<KeyDocument> {
  const doc = await keys.findOwned(user.id as string, id);
  if (!doc) throw noSuchKey(id);
  return doc;
}
