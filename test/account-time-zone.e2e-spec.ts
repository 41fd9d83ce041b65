import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isolatedEnv, Mailpit } from '@keyward/testing';
import { loggedInUser } from './support/accounts';
import { Answer, call } from './support/http';
import { KeywardSystem } from './support/keyward-system';

interface AccountBody {
  email: string;
  username: string;
  timeZone: string;
  timeZoneChosen: boolean;
  createdAt: string;
}
interface Problem {
  status: number;
  errors?: { field: string; message: string }[];
}

/**
 * The owner's time zone: read and chosen through the API, and every email written after a choice
 * shows its times in the new zone with the offset (the zone travels in the events, so
 * notification-service never asks key-service).
 */
describe('account time zone', () => {
  const isolated = isolatedEnv();
  const { mongoUri, emailDomain } = isolated;
  const mailpit = new Mailpit();
  const mail = (name: string) => `${name}@${emailDomain}`;
  let system: KeywardSystem;
  let alice: string;
  let bob: string;

  const api = <T = AccountBody>(token: string | undefined, method: string, path: string, body?: unknown) =>
    call<T>(system.url, token, method, path, body);

  function assertInvalidField(res: Answer<unknown>, field: string): void {
    const body = res.body as Problem;
    assert.equal(res.status, 400, JSON.stringify(body));
    assert.ok(
      body.errors?.some((e) => e.field === field),
      `400 names ${field}: ${JSON.stringify(body.errors)}`,
    );
  }

  before(async () => {
    system = await KeywardSystem.start(isolated);
    // Accounts as the previous version wrote them: no record of a chosen zone.
    alice = await loggedInUser(mongoUri('keys'), mail('alice'));
    bob = await loggedInUser(mongoUri('keys'), mail('bob'));
  });

  after(async () => {
    await system?.stop();
  });

  it('answers 401 without a valid session', async () => {
    for (const [method, body] of [['GET'], ['PATCH', { timeZone: 'Europe/London' }]] as const) {
      assert.equal((await api(undefined, method, '/v1/account', body)).status, 401);
      assert.equal((await api('not-a-session', method, '/v1/account', body)).status, 401);
    }
  });

  it('shows an account stored before the choice existed with the default zone, not chosen', async () => {
    const res = await api(alice, 'GET', '/v1/account');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(
      { ...res.body, createdAt: typeof res.body.createdAt },
      {
        email: mail('alice'),
        username: 'alice',
        timeZone: 'Asia/Singapore',
        timeZoneChosen: false,
        createdAt: 'string',
      },
    );
  });

  it('refuses anything but an IANA zone name with 400 naming the field, and keeps the zone', async () => {
    const refused = ['+08:00', 'GMT+8', 'Mars/Olympus_Mons', '', ' Europe/London', 'Europe/London\n', 'x'.repeat(65)];
    for (const timeZone of [...refused, 42, null, ['Europe/London']]) {
      assertInvalidField(await api(alice, 'PATCH', '/v1/account', { timeZone }), 'timeZone');
    }
    assertInvalidField(await api(alice, 'PATCH', '/v1/account', {}), 'timeZone');
    assertInvalidField(await api(alice, 'PATCH', '/v1/account', { timeZone: 'UTC', email: mail('x') }), 'email');
    const { body } = await api(alice, 'PATCH', '/v1/account', 'Europe/London');
    assert.match(JSON.stringify(body), /must be a JSON object/);
    assert.equal((await api(alice, 'GET', '/v1/account')).body.timeZone, 'Asia/Singapore');
  });

  it('takes a chosen zone for every later email, with its offset; other accounts keep theirs', async () => {
    const create = async (label: string, contact: string) => {
      const res = await api<{ id: string }>(alice, 'POST', '/v1/keys', { label, contacts: [contact] });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      return res.body.id;
    };
    const before = await create('before', mail('ops-before'));
    const [created] = await mailpit.waitFor(mail('ops-before'));
    assert.match(created.Text, /GMT\+8\b/, 'the default zone until one is chosen');

    // Any case is taken and stored as the zone is spelled; a newer name stays as given (Intl says Asia/Calcutta).
    const london = await api(alice, 'PATCH', '/v1/account', { timeZone: 'europe/london' });
    assert.equal(london.body.timeZone, 'Europe/London', JSON.stringify(london.body));
    const chosen = await api(alice, 'PATCH', '/v1/account', { timeZone: 'Asia/Kolkata' });
    assert.equal(chosen.status, 200, JSON.stringify(chosen.body));
    assert.equal(chosen.body.timeZone, 'Asia/Kolkata');
    assert.equal(chosen.body.timeZoneChosen, true);
    assert.deepEqual((await api(alice, 'GET', '/v1/account')).body, chosen.body);
    const session = await api<{ user: { timeZone: string } }>(alice, 'GET', '/v1/auth/session');
    assert.equal(session.body.user.timeZone, 'Asia/Kolkata', 'the web app reads the zone from the session too');

    // Every event of a key carries the zone (reminders and expiry too): the account's keys hold the new one.
    const keys = await system.keysDb
      .collection('keys')
      .find({ 'owner.email': mail('alice') })
      .toArray();
    assert.deepEqual(
      keys.map((k) => (k.owner as { timeZone: string }).timeZone),
      ['Asia/Kolkata'],
    );

    // A key made before the choice: its revocation email is written in the new zone.
    assert.equal((await api(alice, 'DELETE', `/v1/keys/${before}`)).status, 204);
    await create('after', mail('ops-after'));
    const [revoked] = (await mailpit.waitFor(mail('ops-before'), 2)).filter((m) => /revoked/i.test(m.Subject));
    const [createdAfter] = await mailpit.waitFor(mail('ops-after'));
    for (const email of [revoked, createdAfter]) {
      assert.match(email.Text, /GMT\+5:30\b/, `${email.Subject}: times in Asia/Kolkata with the offset`);
      assert.doesNotMatch(email.Text, /GMT\+8\b/, `${email.Subject}: nothing left in the old zone`);
    }

    // The login code email too, for an account that exists; an account of its own stays on its zone.
    assert.equal((await api(undefined, 'POST', '/v1/auth/otp', { email: mail('alice') })).status, 204);
    assert.equal((await api(undefined, 'POST', '/v1/auth/otp', { email: mail('bob') })).status, 204);
    const [aliceCode] = await mailpit.waitFor(mail('alice'));
    const [bobCode] = await mailpit.waitFor(mail('bob'));
    assert.match(aliceCode.Text, /until .* GMT\+5:30\b/);
    assert.match(bobCode.Text, /until .* GMT\+8\b/);
    assert.equal((await api(bob, 'GET', '/v1/account')).body.timeZone, 'Asia/Singapore');

    await system.settled();
    assert.equal((await mailpit.messagesTo(mail('ops-after'))).length, 1);
  });
});
