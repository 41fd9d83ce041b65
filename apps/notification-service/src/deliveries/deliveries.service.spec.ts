import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, it } from 'node:test';
import { KeyEvent } from '@keyward/contracts';
import { Clock } from '@keyward/platform';
import { Registry } from 'prom-client';
import { EmailsService, NotificationMessage } from '../emails/emails.service';
import { sampleMessages } from '../emails/sample-messages';
import { MailerService, OutgoingEmail, SmtpAcceptance } from '../mailer/mailer.service';
import { RelayHeldMessage, RelayLookup, SentEmail } from '../mailer/relay-lookup';
import { TemplatesService } from '../templates/templates.service';
import { Acceptance, AcceptanceJournal } from './acceptance-journal';
import { DeliveriesRepository, DeliveryRecord, NewDelivery, pendingDelivery } from './deliveries.repository';
import { DeliveriesService } from './deliveries.service';
import { DeliveryMetrics } from './delivery.metrics';
import { DeliveryStatus } from './delivery.schema';
import { messageIdOf } from './message-id';
import { NotificationSettings } from '../config/notification-service.env';

/**
 * The repository's contract in memory: the same one-winner attempt claim as the unique index, and
 * every mark conditional on the attempt that holds the delivery, as the database applies them.
 */
class MemoryDeliveries {
  readonly records = new Map<string, DeliveryRecord>();
  readonly attempts = new Map<string, Date>();
  /** Failures to throw from the next markSent calls (the database down after a send). */
  markSentFailures = 0;
  private key = (eventId: string, recipient: string) => `${eventId}|${recipient}`;

  async record(fields: NewDelivery, now: Date) {
    const record = pendingDelivery(fields, now);
    const key = this.key(fields.eventId, fields.recipient);
    if (this.records.has(key)) return null;
    this.records.set(key, record);
    return { ...record };
  }
  async wasErased() {
    return false;
  }
  async find(eventId: string, recipient: string) {
    const found = this.records.get(this.key(eventId, recipient));
    return found ? { ...found } : null;
  }
  async startAttempt(d: DeliveryRecord, attempt: number, now: Date, leaseUntil: Date) {
    const key = `${this.key(d.eventId, d.recipient)}#${attempt}`;
    if (this.attempts.has(key)) return false;
    this.attempts.set(key, leaseUntil);
    const r = this.get(d.eventId, d.recipient);
    if (r.status !== DeliveryStatus.Pending || r.attempts !== attempt - 1) return false;
    Object.assign(r, { status: DeliveryStatus.Sending, attempts: attempt, nextAttemptAt: leaseUntil, updatedAt: now });
    return true;
  }
  async attemptLeaseUntil(d: DeliveryRecord, attempt: number) {
    return this.attempts.get(`${this.key(d.eventId, d.recipient)}#${attempt}`) ?? null;
  }
  async countLostAttempt(d: DeliveryRecord, attempt: number) {
    const r = this.get(d.eventId, d.recipient);
    if (r.status === DeliveryStatus.Pending && r.attempts === attempt - 1) r.attempts = attempt;
  }
  async renewLease(d: DeliveryRecord, attempt: number, leaseUntil: Date) {
    return this.finish(d, attempt, { nextAttemptAt: leaseUntil });
  }
  async settleLapsed(d: DeliveryRecord, fields: Partial<DeliveryRecord>, now: Date) {
    const r = this.get(d.eventId, d.recipient);
    if (r.nextAttemptAt?.getTime() !== d.nextAttemptAt?.getTime()) return false;
    return this.finish(d, d.attempts, { ...fields, updatedAt: now });
  }
  async markSent(d: DeliveryRecord, attempt: number, smtp: SmtpAcceptance, now: Date) {
    if (this.markSentFailures-- > 0) throw new Error('connection 2 to 127.0.0.1:27017 closed');
    return this.finish(d, attempt, {
      status: DeliveryStatus.Sent,
      smtpMessageId: smtp.messageId,
      smtpResponse: smtp.response,
      error: null,
      updatedAt: now,
    });
  }
  async recordAccepted(a: Acceptance, now: Date) {
    const r = [...this.records.values()].find((d) => d._id === a.deliveryId);
    if (!r || r.attempts !== a.attempt || ![DeliveryStatus.Sending, DeliveryStatus.Pending].includes(r.status)) {
      return false;
    }
    Object.assign(r, {
      status: DeliveryStatus.Sent,
      smtpMessageId: a.messageId,
      smtpResponse: a.response,
      updatedAt: now,
    });
    return true;
  }
  async markFailed(d: DeliveryRecord, attempt: number, error: string, now: Date) {
    return this.finish(d, attempt, { status: DeliveryStatus.Failed, error, updatedAt: now });
  }
  async markRetry(d: DeliveryRecord, attempt: number, error: string, nextAttemptAt: Date, now: Date) {
    return this.finish(d, attempt, { status: DeliveryStatus.Pending, error, nextAttemptAt, updatedAt: now });
  }
  private finish(d: DeliveryRecord, attempt: number, fields: Partial<DeliveryRecord>) {
    const r = this.get(d.eventId, d.recipient);
    if (r.status !== DeliveryStatus.Sending || r.attempts !== attempt) return false;
    Object.assign(r, fields);
    return true;
  }
  get(eventId: string, recipient: string) {
    return this.records.get(this.key(eventId, recipient))!;
  }
}

/** An SMTP server that answers each recipient as told: ok, a transient error, or a refusal; or holds a send. */
class ScriptedMailer {
  readonly sent: OutgoingEmail[] = [];
  failures = new Map<string, () => Error>();
  /** While set, a send waits for it (a slow server, or nodemailer's pool queue). */
  hold?: Promise<void>;
  async send(email: OutgoingEmail): Promise<SmtpAcceptance> {
    await this.hold;
    const failure = this.failures.get(email.to);
    if (failure) throw failure();
    this.sent.push(email);
    return { messageId: email.messageId, response: `250 2.0.0 Ok: queued as Q${this.sent.length}` };
  }
}

/** A relay's message search over what a ScriptedMailer took, which can be down; counts what it is asked. */
class ScriptedRelay extends RelayLookup {
  readonly asked: string[] = [];
  down?: Error;
  constructor(private readonly smtp: ScriptedMailer) {
    super();
  }
  async find({ messageId, to }: SentEmail): Promise<RelayHeldMessage | null> {
    this.asked.push(messageId);
    if (this.down) throw this.down;
    const held = this.smtp.sent.find((m) => m.messageId === messageId && m.to === to);
    return held ? { evidence: `held as ${this.smtp.sent.indexOf(held) + 1}` } : null;
  }
}

const transient = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1025'), { code: 'ESOCKET' });
const refused = () => Object.assign(new Error('550 5.1.1 mailbox unavailable'), { responseCode: 550 });

describe('DeliveriesService', () => {
  let repo: MemoryDeliveries;
  let mailer: ScriptedMailer;
  let now: Date;
  let deliveries: DeliveriesService;
  let settings: Record<string, unknown>;
  const event = sampleMessages()['key-created'] as KeyEvent<'KeyCreated'>;
  const [ops, oncall] = ['ops@example.com', 'oncall@example.com'];

  /** A worker: one notification-service process, sharing the database and SMTP server with the others. */
  function worker(
    smtp: ScriptedMailer = mailer,
    journalDir = mkdtempSync(join(tmpdir(), 'journal-')),
    relay: RelayLookup | null = null,
  ): DeliveriesService {
    const config = { ...settings, DELIVERY_JOURNAL_DIR: journalDir } as unknown as NotificationSettings;
    const templates = new TemplatesService();
    templates.onModuleInit();
    return new DeliveriesService(
      repo as unknown as DeliveriesRepository,
      new EmailsService(templates, config),
      smtp as unknown as MailerService,
      { now: () => now } as Clock,
      config,
      new DeliveryMetrics(new Registry(), repo as unknown as DeliveriesRepository),
      new AcceptanceJournal(config),
      relay,
    );
  }

  beforeEach(() => {
    repo = new MemoryDeliveries();
    mailer = new ScriptedMailer();
    now = new Date('2026-11-27T03:00:00Z');
    settings = {
      DELIVERY_GIVE_UP_AFTER: 3_600_000,
      DELIVERY_RETRY_BASE_MS: 1_000,
      DELIVERY_RETRY_MAX_MS: 30_000,
      DELIVERY_LEASE_MS: 60_000,
      WEB_APP_URL: 'https://app.test',
      LOGIN_CODE_SEALING_KEY: 'keyward-local-development-only-login-code-key',
    };
    deliveries = worker();
  });

  const later = (ms: number) => (now = new Date(now.getTime() + ms));
  const recordOf = (recipient: string, message: NotificationMessage = event) =>
    repo.record(
      {
        eventId: message.eventId,
        recipient,
        eventType: message.type,
        keyId: 'keyId' in message ? message.keyId : null,
        message,
      },
      now,
    );
  /** Attempts a failing delivery each time it falls due, until it is no longer pending. */
  async function retryUntilSettled(eventId: string, recipient: string): Promise<number> {
    let rounds = 0;
    for (let r = repo.get(eventId, recipient); r.status === DeliveryStatus.Pending; rounds++) {
      now = new Date(Math.max(now.getTime(), r.nextAttemptAt!.getTime()));
      await deliveries.attempt(eventId, recipient);
      assert.ok(rounds < 10_000, 'settles');
    }
    return rounds;
  }

  it('sends once per recipient and records the SMTP message id and reply; a redelivery sends nothing', async () => {
    assert.deepEqual(await deliveries.deliverAll(event), ['sent', 'sent']);
    assert.deepEqual(await deliveries.deliverAll(event), ['skipped', 'skipped']);
    assert.equal(mailer.sent.length, 2);
    const record = repo.get(event.eventId, ops);
    assert.equal(record.status, 'sent');
    assert.equal(record.attempts, 1);
    assert.match(String(record.smtpMessageId), new RegExp(`^<${event.eventId}\\.[\\w-]{22}@keyward>$`));
    assert.equal(record.smtpMessageId, record.messageId, 'the one drawn when it was recorded');
    assert.match(String(record.smtpResponse), /^250 .*queued as Q\d$/);
    assert.deepEqual(record.message, event, 'stored as the parsed message, not as its text');
  });

  it('retries a transient failure after a backoff, without holding up the other recipient', async () => {
    mailer.failures.set(ops, transient);
    assert.deepEqual(await deliveries.deliverAll(event), ['retrying', 'sent']);
    const record = repo.get(event.eventId, ops);
    assert.equal(record.status, 'pending');
    assert.match(String(record.error), /ECONNREFUSED/);
    const wait = record.nextAttemptAt!.getTime() - now.getTime();
    assert.ok(wait >= 500 && wait <= 1_000, `first backoff within [base/2, base] (${wait} ms)`);
    assert.equal(await deliveries.attempt(event.eventId, ops), 'skipped', 'not before it is due');
    mailer.failures.clear();
    later(wait);
    assert.equal(await deliveries.attempt(event.eventId, ops), 'sent');
    assert.equal(repo.get(event.eventId, ops).attempts, 2);
    assert.equal(mailer.sent.filter((m) => m.to === ops).length, 1);
  });

  it('keeps trying for the give-up window, backoff capped, then marks the delivery failed with the reason', async () => {
    mailer.failures.set(ops, transient);
    const recordedAt = now.getTime();
    await deliveries.deliverAll(event);
    await retryUntilSettled(event.eventId, ops);
    const record = repo.get(event.eventId, ops);
    assert.equal(record.status, 'failed');
    assert.equal(now.getTime() - recordedAt, 3_600_000, 'the last attempt falls at the end of the window');
    // An hour of attempts at most 30 s apart: far more than the 20 the previous version allowed.
    assert.ok(record.attempts >= 120, `${record.attempts} attempts`);
    assert.match(String(record.error), new RegExp(`^gave up after 1h and ${record.attempts} attempts: .*ECONNREFUSED`));
  });

  it('sends a delivery that comes back within the window however many attempts it took', async () => {
    mailer.failures.set(ops, transient);
    await deliveries.deliverAll(event);
    while (now.getTime() < Date.parse('2026-11-27T03:50:00Z')) {
      now = repo.get(event.eventId, ops).nextAttemptAt!;
      assert.equal(await deliveries.attempt(event.eventId, ops), 'retrying');
    }
    mailer.failures.clear();
    await retryUntilSettled(event.eventId, ops);
    assert.equal(repo.get(event.eventId, ops).status, 'sent');
    assert.equal(mailer.sent.filter((m) => m.to === ops).length, 1);
  });

  it('tries a login code only while it is valid', async () => {
    const login = sampleMessages()['login-code'] as NotificationMessage & { expiresAt: string };
    const to = 'alice.tan@example.com';
    mailer.failures.set(to, transient);
    now = new Date(login.occurredAt);
    await deliveries.deliverAll(login);
    await retryUntilSettled(login.eventId, to);
    assert.equal(now.toISOString(), new Date(login.expiresAt).toISOString(), 'no attempt after it expired');
    assert.equal(repo.get(login.eventId, to).status, 'failed');
    assert.match(String(repo.get(login.eventId, to).error), /expired before it could be sent/);
    assert.equal(mailer.sent.length, 0);
  });

  it('gives a re-driven delivery a fresh window from when it was re-driven', async () => {
    await recordOf(ops);
    // Failed three days ago after 20 attempts, then re-driven now: as the redrive tool leaves it.
    Object.assign(repo.get(event.eventId, ops), {
      status: DeliveryStatus.Pending,
      attempts: 20,
      error: 'gave up after 20 attempts: connect ECONNREFUSED',
      createdAt: new Date(now.getTime() - 3 * 86_400_000),
      redrivenAt: now,
      nextAttemptAt: now,
    });
    mailer.failures.set(ops, transient);
    assert.equal(await deliveries.attempt(event.eventId, ops), 'retrying', 'not failed at once for its age');
    mailer.failures.clear();
    await retryUntilSettled(event.eventId, ops);
    assert.equal(repo.get(event.eventId, ops).status, 'sent');
  });

  it('continues a delivery recorded by the previous version (attempts counted when finished, no lease, message as JSON text)', async () => {
    // As the previous version left it: three failed attempts, each with its attempt record.
    repo.records.set(`${event.eventId}|${ops}`, {
      _id: `${event.eventId}/${ops}`,
      eventId: event.eventId,
      recipient: ops,
      eventType: event.type,
      keyId: event.keyId,
      status: DeliveryStatus.Pending,
      attempts: 3,
      nextAttemptAt: now,
      message: JSON.stringify(event),
      smtpMessageId: null,
      error: 'connect ECONNREFUSED 127.0.0.1:1025',
      createdAt: new Date(now.getTime() - 60_000),
      updatedAt: now,
    });
    for (const n of [1, 2, 3]) repo.attempts.set(`${event.eventId}|${ops}#${n}`, new Date(now.getTime() - 1_000));
    assert.equal(await deliveries.attempt(event.eventId, ops), 'sent');
    assert.equal(repo.get(event.eventId, ops).attempts, 4);
    assert.equal(mailer.sent.length, 1);
  });

  it('never sends again when recording a send fails: it retries the record until the database takes it', async () => {
    settings.DELIVERY_RETRY_BASE_MS = 1;
    deliveries = worker();
    repo.markSentFailures = 3;
    assert.deepEqual(await deliveries.deliverAll(event), ['sent', 'sent']);
    assert.equal(mailer.sent.length, 2, 'one SMTP send per recipient');
    assert.equal(repo.get(event.eventId, ops).status, 'sent');
    assert.equal(repo.get(event.eventId, oncall).status, 'sent');
  });

  it('marks a permanent refusal failed at once and never retries it', async () => {
    mailer.failures.set(oncall, refused);
    assert.deepEqual(await deliveries.deliverAll(event), ['sent', 'failed']);
    later(3_600_000);
    assert.equal(await deliveries.attempt(event.eventId, oncall), 'skipped');
    const record = repo.get(event.eventId, oncall);
    assert.equal(record.attempts, 1);
    assert.match(String(record.error), /550/);
  });

  it('lets exactly one of two racing workers make an attempt', async () => {
    await recordOf(ops);
    const outcomes = await Promise.all([deliveries.attempt(event.eventId, ops), worker().attempt(event.eventId, ops)]);
    assert.deepEqual(outcomes.sort(), ['sent', 'skipped']);
    assert.equal(mailer.sent.length, 1);
  });

  it('keeps the lease while a send is queued or in flight, so no other worker sends it meanwhile', async () => {
    settings.DELIVERY_LEASE_MS = 30; // renewed every 10 ms of real time
    deliveries = worker();
    await recordOf(ops);
    let release!: () => void;
    mailer.hold = new Promise((resolve) => (release = resolve));
    const first = deliveries.attempt(event.eventId, ops);
    later(3_600_000); // far past the lease it started with
    const deadline = Date.now() + 5_000;
    while (repo.get(event.eventId, ops).nextAttemptAt! <= now) {
      assert.ok(Date.now() < deadline, 'the lease is renewed');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    assert.equal(await worker().attempt(event.eventId, ops), 'skipped', 'still held by the first worker');
    release();
    assert.equal(await first, 'sent');
    assert.equal(mailer.sent.length, 1);
  });

  it('sends again, under the same Message-ID, a delivery whose worker died mid-send once its lease lapsed', async () => {
    await recordOf(ops);
    // A worker took attempt 1, marked it sending and died without a word.
    await repo.startAttempt(repo.get(event.eventId, ops), 1, now, new Date(now.getTime() + 60_000));
    assert.equal(await deliveries.attempt(event.eventId, ops), 'skipped', 'still leased');
    later(60_000);
    assert.equal(await deliveries.attempt(event.eventId, ops), 'skipped', 'lapsed: seen once, not yet taken');
    later(30_000);
    assert.equal(await deliveries.attempt(event.eventId, ops), 'sent', 'seen lapsed for half a lease');
    const record = repo.get(event.eventId, ops);
    assert.equal(record.attempts, 2);
    // The Message-ID comes from (event, recipient), so it is the one the dead worker's send carried.
    assert.equal(record.smtpMessageId, mailer.sent[0].messageId);
  });

  it('records from its journal, at its next start, a send accepted just before the worker was killed: never sent again', async () => {
    settings.DELIVERY_RETRY_BASE_MS = 1;
    const disk = mkdtempSync(join(tmpdir(), 'journal-'));
    const killed = worker(mailer, disk);
    await recordOf(ops);
    // SMTP accepts; the record never reaches the database before the process dies.
    repo.markSentFailures = Infinity;
    const dying = killed.attempt(event.eventId, ops);
    while (mailer.sent.length === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    killed.beforeApplicationShutdown();
    await dying;
    assert.equal(repo.get(event.eventId, ops).status, 'sending');
    repo.markSentFailures = 0;

    // The worker starts again on the same disk, long after the lease lapsed.
    later(600_000);
    const restarted = worker(mailer, disk);
    restarted.onModuleInit();
    assert.equal(await restarted.attempt(event.eventId, ops), 'skipped');
    later(600_000);
    assert.equal(await restarted.attempt(event.eventId, ops), 'skipped');
    const record = repo.get(event.eventId, ops);
    assert.equal(record.status, 'sent');
    assert.equal(record.attempts, 1);
    assert.equal(record.smtpMessageId, mailer.sent[0].messageId);
    assert.match(String(record.smtpResponse), /^250 /);
    assert.equal(mailer.sent.length, 1, 'sent once');
    assert.deepEqual(readdirSync(disk), [], 'the journal is emptied once recorded');
  });

  it('leaves a sent email to the worker that sent it when the database comes back after longer than the lease', async () => {
    settings.DELIVERY_RETRY_BASE_MS = 1;
    const owner = worker();
    const other = worker();
    await recordOf(ops);
    // The owner's send is accepted, then the database is away for two minutes of its record retries.
    repo.markSentFailures = Infinity;
    const sending = owner.attempt(event.eventId, ops);
    while (mailer.sent.length === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    later(120_000);
    // The database is back: the other instance sees the lapsed lease first…
    assert.equal(await other.attempt(event.eventId, ops), 'skipped');
    // …and the owner's next retry records the send well within the grace.
    repo.markSentFailures = 0;
    assert.equal(await sending, 'sent');
    later(30_000);
    assert.equal(await other.attempt(event.eventId, ops), 'skipped');
    assert.equal(mailer.sent.length, 1, 'sent once');
    assert.equal(repo.get(event.eventId, ops).status, 'sent');
  });

  it('applies the marks of an attempt only while that attempt holds the delivery', async () => {
    // A first worker stalls mid-send past its lease (cut off from the database), a second takes over.
    await recordOf(ops);
    const stalled = new ScriptedMailer();
    let release!: () => void;
    stalled.hold = new Promise((resolve) => (release = resolve));
    const first = worker(stalled).attempt(event.eventId, ops);
    await new Promise((resolve) => setImmediate(resolve));
    later(60_000);
    await deliveries.attempt(event.eventId, ops);
    later(30_000);
    assert.equal(await deliveries.attempt(event.eventId, ops), 'sent');
    stalled.failures.set(ops, transient);
    release();
    assert.equal(await first, 'retrying', 'its failure is reported');
    const record = repo.get(event.eventId, ops);
    assert.equal(record.status, 'sent', "the stale attempt's retry mark did not undo the send");
    assert.equal(record.attempts, 2);
  });

  describe('with a relay to ask (MAILPIT_API_URL)', () => {
    let relay: ScriptedRelay;
    beforeEach(() => {
      relay = new ScriptedRelay(mailer);
      deliveries = worker(mailer, undefined, relay);
    });

    /**
     * Attempt 1 of `recipient`, taken by a worker that dies mid-send, after SMTP took the email or
     * before; `previousVersion`: recorded and sent by the previous version (no stored Message-ID).
     */
    async function diedMidSend(recipient: string, { smtpTookIt, previousVersion = false }: DiedMidSend) {
      await recordOf(recipient);
      if (previousVersion) delete repo.get(event.eventId, recipient).messageId;
      await repo.startAttempt(repo.get(event.eventId, recipient), 1, now, new Date(now.getTime() + 60_000));
      if (smtpTookIt) await submit(recipient, messageIdOf(repo.get(event.eventId, recipient)));
      later(60_000);
    }
    type DiedMidSend = { smtpTookIt: boolean; previousVersion?: boolean };
    /** An email that reaches the relay under `messageId`: keyward's, or anyone's who can submit mail to it. */
    const submit = (to: string, messageId: string) => mailer.send({ to, subject: '', html: '', text: '', messageId });
    const messageIdNow = (recipient: string) => messageIdOf(repo.get(event.eventId, recipient));

    it('never asks about a fresh delivery, nor about a retry after an SMTP failure', async () => {
      mailer.failures.set(ops, transient);
      assert.deepEqual(await deliveries.deliverAll(event), ['retrying', 'sent']);
      mailer.failures.clear();
      assert.equal(await retryUntilSettled(event.eventId, ops), 1);
      assert.deepEqual(relay.asked, []);
    });

    it('records as sent, reconciled, an email the relay took before its worker died: not sent again', async () => {
      await diedMidSend(ops, { smtpTookIt: true });
      assert.equal(await deliveries.attempt(event.eventId, ops), 'skipped', 'lapsed: seen once, not yet asked');
      later(29_000);
      assert.equal(await deliveries.attempt(event.eventId, ops), 'skipped', 'not before half a lease');
      assert.deepEqual(relay.asked, [], 'the relay is not asked while the send may still be committing');
      later(1_000);
      assert.equal(await deliveries.attempt(event.eventId, ops), 'reconciled');
      assert.deepEqual(relay.asked, [messageIdNow(ops)]);
      const record = repo.get(event.eventId, ops);
      assert.equal(record.status, 'sent');
      assert.equal(record.attempts, 1, 'no attempt made');
      assert.equal(record.smtpMessageId, messageIdNow(ops));
      assert.equal(record.smtpResponse, 'reconciled: held as 1');
      assert.equal(mailer.sent.length, 1, 'transmitted once');
    });

    it('sends again, under the same Message-ID, an email the relay does not hold', async () => {
      await diedMidSend(ops, { smtpTookIt: false });
      await deliveries.attempt(event.eventId, ops);
      later(30_000);
      assert.equal(await deliveries.attempt(event.eventId, ops), 'sent');
      assert.deepEqual(relay.asked, [messageIdNow(ops)], 'asked once, before the send');
      assert.equal(repo.get(event.eventId, ops).attempts, 2);
      assert.equal(mailer.sent.length, 1);
      assert.equal(mailer.sent[0].messageId, messageIdNow(ops));
    });

    it('gives each delivery a Message-ID no one can derive, so none can be planted at the relay ahead of it', async () => {
      // Anyone who knows an event id and a recipient (a customer knows both for its reminders) could
      // compute the Message-ID the previous version derived from them, and submit a message under it.
      await diedMidSend(ops, { smtpTookIt: false });
      const derived = messageIdOf({ eventId: event.eventId, recipient: ops });
      assert.notEqual(messageIdNow(ops), derived);
      await submit(ops, derived);
      await deliveries.attempt(event.eventId, ops);
      later(30_000);
      assert.equal(await deliveries.attempt(event.eventId, ops), 'sent', 'sent, not taken as held');
      assert.deepEqual(
        mailer.sent.map((m) => m.messageId),
        [derived, messageIdNow(ops)],
      );
      await recordOf(oncall);
      assert.notEqual(messageIdNow(oncall), messageIdNow(ops), 'one per delivery');
    });

    it('reconciles a send the previous version left lapsed under the Message-ID it had, or sends it again under it', async () => {
      await diedMidSend(ops, { smtpTookIt: true, previousVersion: true });
      await diedMidSend(oncall, { smtpTookIt: false, previousVersion: true });
      const previous = (recipient: string) => messageIdOf({ eventId: event.eventId, recipient });
      assert.deepEqual(
        mailer.sent.map((m) => m.messageId),
        [previous(ops)],
        'the Message-ID the previous version derived',
      );
      for (const recipient of [ops, oncall]) await deliveries.attempt(event.eventId, recipient);
      later(30_000);
      assert.equal(await deliveries.attempt(event.eventId, ops), 'reconciled');
      assert.equal(await deliveries.attempt(event.eventId, oncall), 'sent');
      assert.deepEqual(relay.asked, [previous(ops), previous(oncall)]);
      assert.deepEqual(
        mailer.sent.map((m) => m.messageId),
        [previous(ops), previous(oncall)],
      );
      assert.equal(repo.get(event.eventId, oncall).smtpMessageId, previous(oncall));
    });

    it('sends nothing while the relay cannot be asked, asks again later, and reconciles once it answers', async () => {
      await diedMidSend(ops, { smtpTookIt: true });
      relay.down = new Error("Mailpit's search did not answer: ECONNREFUSED");
      await deliveries.attempt(event.eventId, ops);
      later(30_000);
      assert.equal(await deliveries.attempt(event.eventId, ops), 'retrying');
      let record = repo.get(event.eventId, ops);
      assert.equal(record.status, 'sending', 'still the dead attempt, not put back to be sent');
      assert.equal(
        record.nextAttemptAt!.getTime() - now.getTime(),
        30_000,
        'asked again after the longest SMTP backoff',
      );
      assert.match(String(record.error), /^attempt 1 stopped mid-send and the relay could not be asked .*ECONNREFUSED/);
      assert.equal(await deliveries.attempt(event.eventId, ops), 'skipped', 'not before then');
      relay.down = undefined;
      later(30_000);
      assert.equal(await deliveries.attempt(event.eventId, ops), 'skipped', 'a new lapse: a new grace');
      later(30_000);
      assert.equal(await deliveries.attempt(event.eventId, ops), 'reconciled');
      record = repo.get(event.eventId, ops);
      assert.equal(record.status, 'sent');
      assert.equal(mailer.sent.length, 1, 'transmitted once');
    });

    it('fails a delivery, not sending it blind, when the relay stays unanswered to its give-up time', async () => {
      await diedMidSend(ops, { smtpTookIt: false });
      relay.down = new Error("Mailpit's search answered 503");
      let rounds = 0;
      for (
        let r = repo.get(event.eventId, ops);
        r.status === DeliveryStatus.Sending;
        r = repo.get(event.eventId, ops)
      ) {
        now = new Date(Math.max(now.getTime(), r.nextAttemptAt!.getTime()));
        await deliveries.attempt(event.eventId, ops);
        later(30_000);
        await deliveries.attempt(event.eventId, ops);
        assert.ok(++rounds < 1_000, 'settles');
      }
      const record = repo.get(event.eventId, ops);
      assert.equal(record.status, 'failed');
      assert.match(
        String(record.error),
        /^gave up after 1h( \d+m)?( \d+s)?: attempt 1 stopped mid-send .*503\); not sent again blind$/,
      );
      assert.equal(mailer.sent.length, 0, 'never sent blind');
    });
  });

  it('does not send a login code that expired before it could be sent', async () => {
    const login = sampleMessages()['login-code'] as NotificationMessage & { expiresAt: string };
    now = new Date(login.expiresAt);
    assert.deepEqual(await deliveries.deliverAll(login), ['failed']);
    assert.equal(mailer.sent.length, 0);
    assert.match(String(repo.get(login.eventId, 'alice.tan@example.com').error), /expired before it could be sent/);
  });

  it('marks a message that cannot be rendered failed instead of retrying it', async () => {
    const broken = { ...event, owner: { ...event.owner, timeZone: 'Mars/Olympus_Mons' } };
    assert.deepEqual(await deliveries.deliverAll(broken), ['failed', 'failed']);
    assert.match(String(repo.get(event.eventId, ops).error), /^cannot render: .*time zone/i);
    assert.equal(mailer.sent.length, 0);
  });
});
