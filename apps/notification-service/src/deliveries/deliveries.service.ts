import { createHash } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { backoff } from '@keyward/kafka';
import { Clock } from '@keyward/platform';
import { EmailsService, NotificationMessage, parseNotificationMessage } from '../emails/emails.service';
import { isPermanentSmtpError, MailerService } from '../mailer/mailer.service';
import { RenderedEmail } from '../templates/templates.service';
import { DeliveriesRepository, DeliveryRecord } from './deliveries.repository';
import { DeliveryStatus } from './delivery.schema';

/** What one attempt did: `skipped` means already sent or failed, or another worker holds it right now. */
export type DeliveryOutcome = 'sent' | 'retrying' | 'failed' | 'skipped';

/**
 * Sends one email per (message, recipient) at most once per successful SMTP hand-off. A message is
 * recorded as one pending delivery per recipient, then each gets one attempt straight away; a
 * transient SMTP failure leaves it pending with a backed-off due time for DeliveryRetriesService,
 * so neither a bad recipient nor an SMTP outage holds up the Kafka partition. Permanent refusals
 * (5xx, invalid address) and running out of attempts mark it failed.
 */
@Injectable()
export class DeliveriesService {
  private readonly logger = new Logger(DeliveriesService.name);
  private readonly maxAttempts: number;
  private readonly retryBaseMs: number;
  private readonly leaseMs: number;

  constructor(
    private readonly deliveries: DeliveriesRepository,
    private readonly emails: EmailsService,
    private readonly mailer: MailerService,
    private readonly clock: Clock,
    config: ConfigService,
  ) {
    this.maxAttempts = config.getOrThrow<number>('DELIVERY_MAX_ATTEMPTS');
    this.retryBaseMs = config.getOrThrow<number>('DELIVERY_RETRY_BASE_MS');
    this.leaseMs = config.getOrThrow<number>('DELIVERY_LEASE_MS');
  }

  /** Records and attempts the email of every recipient; resolves once each is sent, scheduled for retry or failed. */
  async deliverAll(message: NotificationMessage): Promise<DeliveryOutcome[]> {
    const raw = JSON.stringify(message);
    const keyId = 'keyId' in message ? message.keyId : null;
    // Recipients are independent: one slow or refused address does not hold up the others.
    const results = await Promise.allSettled(
      this.emails.recipients(message).map(async ({ address }) => {
        const created = await this.deliveries.record(
          { eventId: message.eventId, recipient: address, eventType: message.type, keyId, message: raw },
          this.clock.now(),
        );
        return this.attempt(message.eventId, address, created ?? undefined);
      }),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    // Only the database can fail here; the message is retried and recorded deliveries are not repeated.
    if (failed) throw failed.reason;
    return results.map((r) => (r as PromiseFulfilledResult<DeliveryOutcome>).value);
  }

  /** One attempt at a pending delivery, if it is due and no one else takes it first. */
  async attempt(eventId: string, recipient: string, known?: DeliveryRecord): Promise<DeliveryOutcome> {
    const now = this.clock.now();
    // A delivery this worker has just recorded need not be read back.
    const delivery = known ?? (await this.deliveries.find(eventId, recipient));
    if (delivery?.status !== DeliveryStatus.Pending || (delivery.nextAttemptAt ?? now) > now) return 'skipped';
    const attempt = delivery.attempts + 1;
    if (!(await this.deliveries.startAttempt(delivery, attempt, now, new Date(now.getTime() + this.leaseMs)))) {
      const leaseUntil = await this.deliveries.attemptLeaseUntil(delivery, attempt);
      // Held by a worker that died mid-send: count its attempt so the next sweep can take the next one.
      if (leaseUntil && leaseUntil <= now) await this.deliveries.countLostAttempt(delivery, attempt, now);
      return 'skipped';
    }
    const log = { keyId: delivery.keyId ?? undefined, eventId, eventType: delivery.eventType };

    const message = parseNotificationMessage(delivery.message);
    if (this.emails.isStale(message, now)) {
      await this.deliveries.markFailed(delivery, 'expired before it could be sent', now);
      this.logger.warn(log, 'not sent: the message expired before it could be sent');
      return 'failed';
    }
    let email: RenderedEmail;
    try {
      email = this.emails.compose(message, recipient);
    } catch (error) {
      // A message that cannot be rendered (say, an unknown time zone) will not render on retry either.
      const reason = `cannot render: ${error instanceof Error ? error.message : String(error)}`;
      await this.deliveries.markFailed(delivery, reason, now);
      this.logger.error(log, reason);
      return 'failed';
    }
    try {
      const smtpMessageId = await this.mailer.send({
        to: recipient,
        ...email,
        messageId: `<${eventId}.${hashRecipient(recipient)}@keyward>`,
      });
      await this.deliveries.markSent(delivery, smtpMessageId, this.clock.now());
      this.logger.log(log, 'email sent');
      return 'sent';
    } catch (error) {
      return this.failedAttempt(delivery, error, log);
    }
  }

  private async failedAttempt(delivery: DeliveryRecord, error: unknown, log: object): Promise<DeliveryOutcome> {
    const reason = error instanceof Error ? error.message : String(error);
    const now = this.clock.now();
    const attempts = delivery.attempts + 1;
    if (isPermanentSmtpError(error)) {
      await this.deliveries.markFailed(delivery, reason, now);
      this.logger.warn(log, `permanent delivery failure, not retried: ${reason}`);
      return 'failed';
    }
    if (attempts >= this.maxAttempts) {
      await this.deliveries.markFailed(delivery, `gave up after ${attempts} attempts: ${reason}`, now);
      this.logger.error(log, `delivery failed after ${attempts} attempts: ${reason}`);
      return 'failed';
    }
    const delay = backoff(attempts, this.retryBaseMs);
    await this.deliveries.markRetry(delivery, reason, new Date(now.getTime() + delay), now);
    this.logger.warn(log, `SMTP attempt ${attempts} failed (${reason}); next attempt in ${delay} ms`);
    return 'retrying';
  }
}

/** Short stable tag of a recipient for the Message-ID (no address in headers beyond To). */
function hashRecipient(recipient: string): string {
  return createHash('sha256').update(recipient).digest('base64url').slice(0, 12);
}
