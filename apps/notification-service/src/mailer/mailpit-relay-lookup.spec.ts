import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { freePort, stack } from '@keyward/testing';
import { createTransport } from 'nodemailer';
import { NotificationSettings } from '../config/notification-service.env';
import { MailerService } from './mailer.service';
import { MailpitRelayLookup } from './mailpit-relay-lookup';

/** A Message-ID as keyward makes them (deliveries/message-id.ts). */
const ourMessageId = () => `<${randomUUID()}.${randomBytes(16).toString('base64url')}@keyward>`;
const MAIL_FROM = 'keyward <no-reply@keyward.local>';

/** Against the stack's Mailpit: emails sent over its SMTP port, looked up through its API. */
describe('MailpitRelayLookup', () => {
  const lookup = new MailpitRelayLookup(stack.mailpitUrl, MAIL_FROM);
  const domain = `relay-${randomUUID().slice(0, 8)}.example.com`;
  let mailer: MailerService;

  before(() => {
    mailer = new MailerService({
      SMTP_HOST: '127.0.0.1',
      SMTP_PORT: Number(stack.smtpPort),
      SMTP_SECURE: false,
      SMTP_REQUIRE_TLS: false,
      SMTP_POOL_SIZE: 1,
      MAIL_FROM,
    } as NotificationSettings);
  });

  after(() => mailer.onApplicationShutdown());

  const send = (to: string, messageId: string) =>
    mailer.send({ to, subject: 'relay lookup', html: '<p>hi</p>', text: 'hi', messageId });

  it('finds an email by its Message-ID as soon as SMTP has accepted it', async () => {
    const to = `found@${domain}`;
    const messageId = ourMessageId();
    await send(to, messageId);
    const held = await lookup.find({ messageId, to });
    assert.match(String(held?.evidence), /^Mailpit holds it as message \w+, stored \d{4}-\d\d-\d\dT/);
  });

  it('finds nothing for a Message-ID it never took, nor for one that only looks alike to its search', async () => {
    const to = `alike@${domain}`;
    const eventId = randomUUID();
    const sent = `<${eventId}.AbCdEfGhIjKl@keyward>`;
    await send(to, sent);
    const find = (messageId: string) => lookup.find({ messageId, to });
    assert.ok(await find(sent), 'the one sent is found');
    assert.equal(await find(ourMessageId()), null, 'never sent');
    // Mailpit's search matches these (case-insensitive, `_` any character); they are other emails.
    assert.equal(await find(`<${eventId}.abcdefghijkl@keyward>`), null, 'differs in case');
    assert.equal(await find(`<${eventId}.AbCdEfGhIjK_@keyward>`), null, 'differs in one character');
    assert.equal(await find(`<${eventId.slice(1)}.AbCdEfGhIjKl@keyward>`), null, 'a substring of it');
  });

  it('does not take a message under the Message-ID from another sender, or to another recipient, for the email', async () => {
    const to = `planted@${domain}`;
    const messageId = ourMessageId();
    // Anyone who can submit mail to the relay can give a message any Message-ID and any From.
    const other = createTransport({ host: '127.0.0.1', port: Number(stack.smtpPort), secure: false, ignoreTLS: true });
    try {
      await other.sendMail({ from: 'someone@elsewhere.example', to, subject: 'x', text: 'x', messageId });
      await send(`other@${domain}`, messageId);
    } finally {
      other.close();
    }
    assert.equal(await lookup.find({ messageId, to }), null);
    await send(to, messageId);
    assert.ok(await lookup.find({ messageId, to: to.toUpperCase() }), 'then ours, to it, is found');
  });

  it('asks about keyward’s own Message-IDs only', async () => {
    const to = `a@${domain}`;
    await assert.rejects(lookup.find({ messageId: '<x" OR to:"a@keyward>', to }), /not a Message-ID keyward sends/);
    await assert.rejects(lookup.find({ messageId: 'abc@keyward', to }), /not a Message-ID keyward sends/);
  });

  it('throws, naming why, when Mailpit cannot be asked: nothing listening', async () => {
    const closed = new MailpitRelayLookup(`http://127.0.0.1:${await freePort()}`, MAIL_FROM);
    await assert.rejects(closed.find({ messageId: ourMessageId(), to: 'a@x' }), /did not answer: ECONNREFUSED/);
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
    const email = { messageId, to: 'ops@example.com' };

    it('sends basic-auth credentials from the URL in a header, and the Message-ID encoded in the query', async () => {
      let seen: IncomingMessage | undefined;
      answer = (req, res) => {
        seen = req;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ messages: [], total: 0 }));
      };
      const withAuth = new MailpitRelayLookup(`http://ops:p%40ss@${url.slice(7)}/mail`, MAIL_FROM);
      assert.equal(await withAuth.find(email), null);
      assert.equal(seen?.headers.authorization, `Basic ${Buffer.from('ops:p@ss').toString('base64')}`);
      const asked = new URL(String(seen?.url), url);
      assert.equal(asked.pathname, '/mail/api/v1/search');
      assert.equal(asked.searchParams.get('query'), `message-id:"${messageId.slice(1, -1)}"`);
    });

    it('throws on an error status, an answer of another shape, or no answer in time', async () => {
      const lookupHere = new MailpitRelayLookup(url, MAIL_FROM, 200);
      answer = (_req, res) => res.writeHead(401).end();
      await assert.rejects(lookupHere.find(email), /search answered 401/);
      answer = (_req, res) => res.end(JSON.stringify({ messages: [{ ID: 1, MessageID: null }] }));
      await assert.rejects(lookupHere.find(email), /answered something else than a list of messages/);
      answer = (_req, res) => res.end('<html>login</html>');
      await assert.rejects(lookupHere.find(email), /answered something else than a list of messages/);
      answer = () => undefined; // holds the request
      await assert.rejects(lookupHere.find(email), /did not answer: no answer within 200 ms/);
    });

    it('reads no more than 1 MiB of an answer, and no longer than its timeout: a relay cannot stall or flood it', async () => {
      const lookupHere = new MailpitRelayLookup(url, MAIL_FROM, 500);
      const held = { ID: 'a1', MessageID: messageId.slice(1, -1), Created: new Date().toISOString() };
      const huge = JSON.stringify({
        messages: [{ ...held, From: { Address: 'no-reply@keyward.local' }, To: [{ Address: email.to }] }],
        padding: 'x'.repeat(2 * 1024 * 1024),
      });
      answer = (_req, res) => res.end(huge);
      await assert.rejects(lookupHere.find(email), /answered more than 1048576 bytes/, 'said up front');
      let sent = 0;
      answer = (_req, res) => {
        // Chunked, no length: streamed past the limit, forever.
        res.write('{"messages":[],"padding":"');
        const drip = setInterval(() => {
          if (res.destroyed) return clearInterval(drip);
          sent += 64 * 1024;
          res.write('x'.repeat(64 * 1024));
        }, 1);
      };
      await assert.rejects(lookupHere.find(email), /answered more than 1048576 bytes/, 'streamed');
      assert.ok(sent < 4 * 1024 * 1024, `stopped reading (${sent} bytes sent)`);
      answer = (_req, res) => {
        res.write('{"messages":[');
        const drip = setInterval(() => (res.destroyed ? clearInterval(drip) : res.write(' ')), 100);
      };
      const started = Date.now();
      await assert.rejects(lookupHere.find(email), /did not answer: no answer within 500 ms/, 'a slow answer');
      assert.ok(Date.now() - started < 2_000, 'given up at its timeout');
    });
  });
});
