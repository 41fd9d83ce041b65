import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { ContactsDto } from './create-key.dto';

async function contactErrors(contacts: unknown): Promise<string[]> {
  const errors = await validate(plainToInstance(ContactsDto, { contacts }));
  return errors.flatMap((e) => Object.values(e.constraints ?? {}));
}

describe('contacts in a request', () => {
  it('names the one address that is not an email', async () => {
    assert.deepEqual(await contactErrors(['ops@example.com', 'not-an-email']), [
      'contacts must hold only valid email addresses (not-an-email is not)',
    ]);
  });

  it('names every address that is not an email', async () => {
    assert.deepEqual(await contactErrors(['a@', 'ops@example.com', 'b c']), [
      'contacts must hold only valid email addresses (a@, b c are not)',
    ]);
  });

  it('accepts valid, deduplicated addresses', async () => {
    assert.deepEqual(await contactErrors(['Ops@Example.com', 'ops@example.com ']), []);
  });
});
