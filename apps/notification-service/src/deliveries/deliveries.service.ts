import { createHash } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { backoff } from '@keyward/kafka';
import { isPermanentSmtpError, MailerService } from '../mailer/mailer.service';
import { RenderedEmail } from '../templates/templates.service';
import { DeliveriesRepository } from './deliveries.repository';
import { DeliveryStatus } from './delivery.schema';

export interface DeliveryRequest {
  eventId: string;
  eventType: string;
  keyId: string;
  recipient: string;
  render(): RenderedEmail;
}

export type DeliveryOutcome = 'sent' | 'already-sent' | 'failed';

/**
 * Sends one email per (event, recipient) at most once: the delivery record is checked before
 * sending and marked right after. Transient SMTP failures are retried with backoff; permanent
 * ones are recorded as failed and not retried.
 */
@Injectable()
export class DeliveriesService {
  private readonly logger = new Logger(DeliveriesService.name);
  private readonly maxAttempts: number;
  private readonly retryBaseMs: number;

  constructor(
    private readonly deliveries: DeliveriesRepository,
    private readonly mailer: MailerService,
    config: ConfigService,
  ) {
    this.maxAttempts = config.getOrThrow<number>('DELIVERY_MAX_ATTEMPTS');
    this.retryBaseMs = config.getOrThrow<number>('DELIVERY_RETRY_BASE_MS');
  }

  async deliver(request: DeliveryRequest): Promise<DeliveryOutcome> {
    const { eventId, recipient, keyId } = request;
    const record = await this.deliveries.claim(request);
    if (record?.status === DeliveryStatus.Sent) return 'already-sent';
    if (record?.status === DeliveryStatus.Failed) return 'failed';

    const email = request.render();
    for (let attempt = 1; ; attempt++) {
      try {
        const messageId = await this.mailer.send({
          to: recipient,
          ...email,
          messageId: `<${eventId}.${hashRecipient(recipient)}@keyward>`,
        });
        await this.deliveries.markSent(eventId, recipient, messageId);
        this.logger.log({ keyId, eventId, eventType: request.eventType }, 'email sent');
        return 'sent';
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        const permanent = isPermanentSmtpError(error);
        await this.deliveries.markAttemptFailed(eventId, recipient, message, permanent);
        if (permanent) {
          this.logger.warn({ keyId, eventId }, `permanent delivery failure: ${message}`);
          return 'failed';
        }
        if (attempt >= this.maxAttempts) throw new Error(`SMTP still failing after ${attempt} attempts: ${message}`);
        const delay = backoff(attempt, this.retryBaseMs);
        this.logger.warn({ keyId, eventId }, `SMTP attempt ${attempt} failed (${message}); retrying in ${delay} ms`);
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }
}

/** Short stable tag of a recipient for the Message-ID (no address in headers beyond To). */
function hashRecipient(recipient: string): string {
  return createHash('sha256').update(recipient).digest('base64url').slice(0, 12);
}
