import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Model } from 'mongoose';
import { KeyServiceSettings } from '../config/key-service.env';
import { User } from './user.schema';
import { UsersRepository } from './users.repository';

describe('UsersRepository.findById', () => {
  it('finds no account for an id that is not an account id, without asking the database', async () => {
    const asked: unknown[] = [];
    const users = { findById: (id: unknown) => (asked.push(id), { exec: async () => ({ _id: id }) }) };
    const repository = new UsersRepository(users as unknown as Model<User>, {} as KeyServiceSettings);

    assert.equal(await repository.findById('u-1'), null);
    assert.equal(await repository.findById(''), null);
    assert.deepEqual(asked, []);
    assert.deepEqual(await repository.findById('65a1f0c2e4b0a1b2c3d4e5f6'), { _id: '65a1f0c2e4b0a1b2c3d4e5f6' });
    assert.deepEqual(asked, ['65a1f0c2e4b0a1b2c3d4e5f6']);
  });
});
