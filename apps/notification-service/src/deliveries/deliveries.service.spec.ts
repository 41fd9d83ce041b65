import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { ConfigService } from '@nestjs/config';
import { KeyEvent } from '@keyward/contracts';
import { Clock } from '@keyward/platform';
import { EmailsService, NotificationMessage } from '../emails/emails.service';
import { sampleMessages } from '../emails/sample-messages';
import { MailerService, OutgoingEmail } from '../mailer/mailer.service';
import { TemplatesService } from '../templates/templates.service';
import { DeliveriesRepository, DeliveryRecord, NewDelivery, pendingDelivery } from './deliveries.repository';
import { DeliveriesService } from './deliveries.service';
import { DeliveryStatus } from './delivery.schema';

/** The repository's contract in memory, with the same one-winner attempt claim as the unique index. */
class MemoryDeliveries {
  readonly records = new Map<string, DeliveryRecord>();
  readonly attempts = new Map<string, Date>();
  private key = (eventId: string, recipient: string) => `${eventId}|${recipient}`;

  async record(fields: NewDelivery, now: Date) {
    const record = pendingDelivery(fields, now);
    const key = this.key(fields.eventId, fields.recipient);
    if (this.records.has(key)) return null;
    this.records.set(key, record);
    return { ...record };
  }
  async find(eventId: string, recipient: string) {
    const found = this.records.get(this.key(eventId, recipient));
    return found ? { ...found } : null;
  }
  async startAttempt(d: DeliveryRecord, attempt: number, _now: Date, leaseUntil: Date) {
    const key = `${this.key(d.eventId, d.recipient)}#${attempt}`;
    if (this.attempts.has(key)) return false;
    this.attempts.set(key, leaseUntil);
    return true;
  }
  async attemptLeaseUntil(d: DeliveryRecord, attempt: number) {
    return this.attempts.get(`${this.key(d.eventId, d.recipient)}#${attempt}`) ?? null;
  }
  async countLostAttempt(d: DeliveryRecord, attempt: number) {
    const r = this.records.get(this.key(d.eventId, d.recipient))!;
    if (r.status === DeliveryStatus.Pending && r.attempts === attempt - 1) r.attempts = attempt;
  }
  async markSent(d: DeliveryRecord, smtpMessageId: string, now: Date) {
    this.finish(d, { status: DeliveryStatus.Sent, smtpMessageId, error: null }, now);
  }
  async markFailed(d: DeliveryRecord, error: string, now: Date) {
    this.finish(d, { status: DeliveryStatus.Failed, error }, now);
  }
  async markRetry(d: DeliveryRecord, error: string, nextAttemptAt: Date, now: Date) {
    this.finish(d, { status: DeliveryStatus.Pending, error, nextAttemptAt }, now);
  }
  private finish(d: DeliveryRecord, fields: Partial<DeliveryRecord>, now: Date) {
    Object.assign(this.records.get(this.key(d.eventId, d.recipient))!, fields, {
      attempts: d.attempts + 1,
      updatedAt: now,
    });
  }
  get(eventId: string, recipient: string) {
    return this.records.get(this.key(eventId, recipient))!;
  }
}

/** An SMTP server that answers each recipient as told: ok, a transient error, or a refusal. */
class ScriptedMailer {
  readonly sent: OutgoingEmail[] = [];
  failures = new Map<string, () => Error>();
  async send(email: OutgoingEmail): Promise<string> {
    const failure = this.failures.get(email.to);
    if (failure) throw failure();
    this.sent.push(email);
    return email.messageId;
  }
}

const transient = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1025'), { code: 'ESOCKET' });
const refused = () => Object.assign(new Error('550 5.1.1 mailbox unavailable'), { responseCode: 550 });

describe('DeliveriesService', () => {
  let repo: MemoryDeliveries;
  let mailer: ScriptedMailer;
  let now: Date;
  let deliveries: DeliveriesService;
  const event = sampleMessages()['key-created'] as KeyEvent<'KeyCreated'>;
  const [ops, oncall] = ['ops@example.com', 'oncall@example.com'];

  beforeEach(() => {
    repo = new MemoryDeliveries();
    mailer = new ScriptedMailer();
    now = new Date('2026-11-27T03:00:00Z');
    const settings: Record<string, unknown> = {
      DELIVERY_MAX_ATTEMPTS: 3,
      DELIVERY_RETRY_BASE_MS: 1_000,
      DELIVERY_LEASE_MS: 60_000,
      WEB_APP_URL: 'https://app.test',
      LOGIN_CODE_SEALING_KEY: 'keyward-local-development-only-login-code-key',
    };
    const config = { getOrThrow: (k: string) => settings[k] } as unknown as ConfigService;
    const templates = new TemplatesService();
    templates.onModuleInit();
    deliveries = new DeliveriesService(
      repo as unknown as DeliveriesRepository,
      new EmailsService(templates, config),
      mailer as unknown as MailerService,
      { now: () => now } as Clock,
      config,
    );
  });

  const later = (ms: number) => (now = new Date(now.getTime() + ms));

  it('sends once per recipient and records the SMTP message id; a redelivery sends nothing', async () => {
    assert.deepEqual(await deliveries.deliverAll(event), ['sent', 'sent']);
    assert.deepEqual(await deliveries.deliverAll(event), ['skipped', 'skipped']);
    assert.equal(mailer.sent.length, 2);
    const record = repo.get(event.eventId, ops);
    assert.equal(record.status, 'sent');
    assert.equal(record.attempts, 1);
    assert.match(String(record.smtpMessageId), new RegExp(`^<${event.eventId}\\.[\\w-]{12}@keyward>$`));
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

  it('gives up after the configured attempts and records why', async () => {
    mailer.failures.set(ops, transient);
    await deliveries.deliverAll(event);
    for (let i = 0; i < 5; i++) {
      later(60_000);
      await deliveries.attempt(event.eventId, ops);
    }
    const record = repo.get(event.eventId, ops);
    assert.equal(record.status, 'failed');
    assert.equal(record.attempts, 3);
    assert.match(String(record.error), /^gave up after 3 attempts: .*ECONNREFUSED/);
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
    await repo.record(
      {
        eventId: event.eventId,
        recipient: ops,
        eventType: event.type,
        keyId: event.keyId,
        message: JSON.stringify(event),
      },
      now,
    );
    const outcomes = await Promise.all([
      deliveries.attempt(event.eventId, ops),
      deliveries.attempt(event.eventId, ops),
    ]);
    assert.deepEqual(outcomes.sort(), ['sent', 'skipped']);
    assert.equal(mailer.sent.length, 1);
  });

  it('takes over an attempt whose worker died mid-send once its lease has passed', async () => {
    const message = JSON.stringify(event);
    await repo.record(
      { eventId: event.eventId, recipient: ops, eventType: event.type, keyId: event.keyId, message },
      now,
    );
    // A worker took attempt 1 and died before recording anything.
    await repo.startAttempt(repo.get(event.eventId, ops), 1, now, new Date(now.getTime() + 60_000));
    assert.equal(await deliveries.attempt(event.eventId, ops), 'skipped', 'still leased');
    later(60_000);
    assert.equal(await deliveries.attempt(event.eventId, ops), 'skipped', 'lost attempt counted');
    assert.equal(repo.get(event.eventId, ops).attempts, 1);
    assert.equal(await deliveries.attempt(event.eventId, ops), 'sent');
    assert.equal(repo.get(event.eventId, ops).attempts, 2);
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
