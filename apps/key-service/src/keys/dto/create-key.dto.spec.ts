import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidFieldsException, parseBody } from '@keyward/platform';
import { contactsBody, createKeyBody } from './create-key.dto';

function errorsOf(schema: Parameters<typeof parseBody>[0], body: unknown): { field: string; message: string }[] {
  try {
    parseBody(schema, body);
  } catch (error) {
    assert.ok(error instanceof InvalidFieldsException);
    return error.errors;
  }
  return [];
}

const contactErrors = (contacts: unknown) => errorsOf(contactsBody, { contacts }).map((e) => e.message);

describe('contacts in a request', () => {
  it('names the one address that is not an email', () => {
    assert.deepEqual(contactErrors(['ops@example.com', 'not-an-email']), [
      'contacts must hold only valid email addresses (not-an-email is not)',
    ]);
  });

  it('names every address that is not an email', () => {
    assert.deepEqual(contactErrors(['a@', 'ops@example.com', 'b c']), [
      'contacts must hold only valid email addresses (a@, b c are not)',
    ]);
  });

  it('refuses what the events would refuse, so a key is never accepted and then fails to publish', () => {
    for (const address of ['ops#1@x.com', 'ü@x.com', 'a@localhost']) {
      assert.equal(contactErrors([address]).length, 1, address);
    }
  });

  it('cuts a long bad address short instead of echoing it', () => {
    const [message] = contactErrors(['x'.repeat(200)]);
    assert.ok(message.length < 120, message);
  });

  it('accepts valid addresses, stored lower-cased and deduplicated', () => {
    assert.deepEqual(parseBody(contactsBody, { contacts: ['Ops@Example.com', 'ops@example.com '] }), {
      contacts: ['ops@example.com'],
    });
  });

  it('holds 1 to 10 addresses', () => {
    assert.deepEqual(contactErrors([]), ['contacts must hold at least one email address']);
    const eleven = Array.from({ length: 11 }, (_, i) => `ops${i}@example.com`);
    assert.deepEqual(contactErrors(eleven), ['contacts can hold at most 10 email addresses']);
  });
});

describe('a new key request', () => {
  it('takes a trimmed label and contacts', () => {
    assert.deepEqual(parseBody(createKeyBody, { label: ' production ', contacts: ['ops@example.com'] }), {
      label: 'production',
      contacts: ['ops@example.com'],
    });
  });

  it('refuses a label with a bidi override, naming the field', () => {
    assert.deepEqual(
      errorsOf(createKeyBody, { label: 'invoice\u202Efdp.exe', contacts: ['ops@example.com'] }).map((e) => e.field),
      ['label'],
    );
  });

  it('refuses unknown fields', () => {
    assert.deepEqual(errorsOf(createKeyBody, { label: 'ci', contacts: ['ops@example.com'], admin: true }), [
      { field: 'admin', message: 'admin is not accepted' },
    ]);
  });
});
