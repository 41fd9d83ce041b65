import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { freePort, stack } from '@keyward/testing';
import { NotificationSettings } from '../config/notification-service.env';
import { MailerService } from './mailer.service';
import { MailpitRelayLookup } from './mailpit-relay-lookup';

/** A Message-ID as keyward makes them: an event id and a recipient's tag. */
const ourMessageId = () => `<${randomUUID()}.${randomBytes(9).toString('base64url')}@keyward>`;

/** Against the stack's Mailpit: emails sent over its SMTP port, looked up through its API. */
describe('MailpitRelayLookup', () => {
  const lookup = new MailpitRelayLookup(stack.mailpitUrl);
  const domain = `relay-${randomUUID().slice(0, 8)}.example.com`;
  let mailer: MailerService;

  before(() => {
    mailer = new MailerService({
      SMTP_HOST: '127.0.0.1',
      SMTP_PORT: Number(stack.smtpPort),
      SMTP_SECURE: false,
      SMTP_REQUIRE_TLS: false,
      SMTP_POOL_SIZE: 1,
      MAIL_FROM: 'keyward <no-reply@keyward.local>',
    } as NotificationSettings);
  });

  after(() => mailer.onApplicationShutdown());

  const send = (to: string, messageId: string) =>
    mailer.send({ to, subject: 'relay lookup', html: '<p>hi</p>', text: 'hi', messageId });

  it('finds an email by its Message-ID as soon as SMTP has accepted it', async () => {
    const to = `found@${domain}`;
    const messageId = ourMessageId();
    await send(to, messageId);
    const held = await lookup.find(messageId);
    assert.match(String(held?.evidence), /^Mailpit holds it as message \w+, stored \d{4}-\d\d-\d\dT/);
  });

  it('finds nothing for a Message-ID it never took, nor for one that only looks alike to its search', async () => {
    const to = `alike@${domain}`;
    const eventId = randomUUID();
    const sent = `<${eventId}.AbCdEfGhIjKl@keyward>`;
    await send(to, sent);
    assert.ok(await lookup.find(sent), 'the one sent is found');
    assert.equal(await lookup.find(ourMessageId()), null, 'never sent');
    // Mailpit's search matches these (case-insensitive, `_` any character); they are other emails.
    assert.equal(await lookup.find(`<${eventId}.abcdefghijkl@keyward>`), null, 'differs in case');
    assert.equal(await lookup.find(`<${eventId}.AbCdEfGhIjK_@keyward>`), null, 'differs in one character');
    assert.equal(await lookup.find(`<${eventId.slice(1)}.AbCdEfGhIjKl@keyward>`), null, 'a substring of it');
  });

  it('asks about keyward’s own Message-IDs only', async () => {
    await assert.rejects(lookup.find('<x" OR to:"a@keyward>'), /not a Message-ID keyward sends/);
    await assert.rejects(lookup.find('abc@keyward'), /not a Message-ID keyward sends/);
  });

  it('throws, naming why, when Mailpit cannot be asked: nothing listening', async () => {
    const closed = new MailpitRelayLookup(`http://127.0.0.1:${await freePort()}`);
    await assert.rejects(closed.find(ourMessageId()), /did not answer: ECONNREFUSED/);
  });

  describe('against a server that is not the Mailpit it expects', () => {
    let server: Server;
    let answer: (req: IncomingMessage, res: ServerResponse) => void;
    let url: string;

    before(async () => {
      server = createServer((req, res) => answer(req, res));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });

    after(() => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    });

    const messageId = ourMessageId();

    it('sends basic-auth credentials from the URL in a header, and the Message-ID encoded in the query', async () => {
      let seen: IncomingMessage | undefined;
      answer = (req, res) => {
        seen = req;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ messages: [], total: 0 }));
      };
      assert.equal(await new MailpitRelayLookup(`http://ops:p%40ss@${url.slice(7)}/mail`).find(messageId), null);
      assert.equal(seen?.headers.authorization, `Basic ${Buffer.from('ops:p@ss').toString('base64')}`);
      const asked = new URL(String(seen?.url), url);
      assert.equal(asked.pathname, '/mail/api/v1/search');
      assert.equal(asked.searchParams.get('query'), `message-id:"${messageId.slice(1, -1)}"`);
    });

    it('throws on an error status, an answer of another shape, or no answer in time', async () => {
      const lookupHere = new MailpitRelayLookup(url, 200);
      answer = (_req, res) => res.writeHead(401).end();
      await assert.rejects(lookupHere.find(messageId), /search answered 401/);
      answer = (_req, res) => res.end(JSON.stringify({ messages: [{ ID: 1, MessageID: null }] }));
      await assert.rejects(lookupHere.find(messageId), /answered something else than a list of messages/);
      answer = (_req, res) => res.end('<html>login</html>');
      await assert.rejects(lookupHere.find(messageId), /answered something else than a list of messages/);
      answer = () => undefined; // holds the request
      await assert.rejects(lookupHere.find(messageId), /did not answer: no answer within 200 ms/);
    });
  });
});
