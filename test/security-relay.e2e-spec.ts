import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isolatedEnv, Mailpit } from '@keyward/testing';
import { loggedInUser } from './support/accounts';
import { call } from './support/http';
import { KeywardSystem } from './support/keyward-system';

const KEY_CHANGES_PER_HOUR = 4;

/**
 * keyward must not be usable as a spam relay (docs/SECURITY.md, "No relay"): key changes, and the
 * emails they send, are limited per account; every email names the account that caused it; a
 * contacts change tells each address only what concerns it.
 */
describe('security: no relay', () => {
  const isolated = isolatedEnv();
  const { mongoUri, emailDomain } = isolated;
  const mailpit = new Mailpit();
  const mail = (name: string) => `${name}@${emailDomain}`;
  let system: KeywardSystem;

  before(async () => {
    system = await KeywardSystem.start(isolated, { KEY_CHANGES_PER_HOUR: String(KEY_CHANGES_PER_HOUR) });
  });

  after(async () => {
    await system?.stop();
  });

  it("refuses an account's key changes past its hourly limit with 429 and Retry-After; other accounts go on", async () => {
    const spammer = await loggedInUser(mongoUri('keys'), mail('spammer'));
    const bystander = await loggedInUser(mongoUri('keys'), mail('bystander'));
    const created = await call<{ id: string }>(system.url, spammer, 'POST', '/v1/keys', {
      label: 'loop 0',
      contacts: [mail('target')],
    });
    assert.equal(created.status, 201);
    // create + revoke in a loop: each sends the target an email.
    const statuses = [created.status];
    statuses.push((await call(system.url, spammer, 'DELETE', `/v1/keys/${created.body.id}`)).status);
    statuses.push(
      (await call(system.url, spammer, 'POST', '/v1/keys', { label: 'loop 1', contacts: [mail('target')] })).status,
    );
    statuses.push(
      (
        await call(system.url, spammer, 'PUT', `/v1/keys/${created.body.id}/contacts`, {
          contacts: [mail('another.target')],
        })
      ).status,
    );
    assert.deepEqual(statuses, [201, 204, 201, 409], 'four changes (the last refused as revoked) use up the budget');

    const res = await fetch(`${system.url}/v1/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${spammer}`, 'content-type': 'application/json' },
      body: JSON.stringify({ label: 'loop 2', contacts: [mail('target')] }),
    });
    assert.equal(res.status, 429);
    const retryAfter = Number(res.headers.get('retry-after'));
    assert.ok(retryAfter > 0 && retryAfter <= 3600, `Retry-After ${retryAfter}`);
    assert.match(((await res.json()) as { detail: string }).detail, /4 key changes this hour/);
    assert.equal((await call(system.url, spammer, 'GET', '/v1/keys')).status, 200, 'reads are not limited');

    const other = await call(system.url, bystander, 'POST', '/v1/keys', {
      label: 'mine',
      contacts: [mail('bystander.ops')],
    });
    assert.equal(other.status, 201, 'the limit is per account');
    // The refused change sent nothing: the target has the two KeyCreated and one KeyRevoked only.
    await mailpit.waitFor(mail('target'), 3, { timeoutMs: 60_000 });
    await system.settled();
    const target = await mailpit.messagesTo(mail('target'));
    assert.equal(target.length, 3, target.map((m) => m.Subject).join('\n'));
  });

  it('tells an added contact it was added, a removed one only that it was removed, and those who stay what changed', async () => {
    const owner = mail('owner');
    const token = await loggedInUser(mongoUri('keys'), owner);
    const created = await call<{ id: string }>(system.url, token, 'POST', '/v1/keys', {
      label: 'payments',
      contacts: [mail('stays'), mail('leaves')],
    });
    assert.equal(created.status, 201);
    await mailpit.waitFor(mail('leaves'), 1, { timeoutMs: 60_000 });

    const replaced = await call(system.url, token, 'PUT', `/v1/keys/${created.body.id}/contacts`, {
      contacts: [mail('stays'), mail('joins')],
    });
    assert.equal(replaced.status, 200);

    await mailpit.waitFor(mail('joins'), 1, { timeoutMs: 60_000 });
    await system.settled();
    const [joins] = await mailpit.messagesTo(mail('joins'));
    const leaves = await mailpit.messagesTo(mail('leaves'));
    const stays = await mailpit.messagesTo(mail('stays'));
    const changeTo = (messages: typeof leaves) => messages.filter((m) => !/^New API key/.test(m.Subject));

    assert.equal((await mailpit.messagesTo(mail('joins'))).length, 1, 'one email to the added contact');
    assert.match(joins.Subject, /^You were added as a contact of API key "payments"/);
    assert.ok(!joins.Text.includes(mail('stays')), 'the added contact does not learn the other contacts');

    const [removal] = changeTo(leaves);
    assert.equal(changeTo(leaves).length, 1);
    assert.match(removal.Subject, /^You were removed from the contacts of API key "payments"/);
    for (const other of [mail('stays'), mail('joins')]) {
      assert.ok(
        !removal.Text.includes(other) && !removal.HTML.includes(other),
        `the removed contact is not told ${other}`,
      );
    }

    const [change] = changeTo(stays);
    assert.equal(changeTo(stays).length, 1);
    assert.match(change.Subject, /^Contacts changed for API key "payments"/);
    assert.match(change.Text, new RegExp(`Added: +${mail('joins')}`));
    assert.match(change.Text, new RegExp(`Removed: +${mail('leaves')}`));

    for (const message of [joins, removal, change]) {
      assert.match(
        message.Text,
        new RegExp(
          `Sent because the keyward account ${owner} changed this key\\. .*Write to the account owner at ${owner}\\.`,
        ),
        message.Subject,
      );
    }
  });
});
