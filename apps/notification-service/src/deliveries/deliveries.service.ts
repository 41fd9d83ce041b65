import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { Owner } from '@keyward/contracts';
import { backoff } from '@keyward/kafka';
import { Clock } from '@keyward/platform';
import { EmailsService, NotificationMessage, storedNotificationMessage } from '../emails/emails.service';
import { isPermanentSmtpError, MailerService, SmtpAcceptance } from '../mailer/mailer.service';
import { RelayHeldMessage, RelayLookup } from '../mailer/relay-lookup';
import { RenderedEmail } from '../templates/templates.service';
import { AcceptanceJournal } from './acceptance-journal';
import { DeliveriesRepository, DeliveryRecord } from './deliveries.repository';
import { DeliveryMetrics } from './delivery.metrics';
import { DeliveryStatus } from './delivery.schema';
import { messageIdOf } from './message-id';
import { NotificationSettings } from '../config/notification-service.env';

/**
 * What one attempt did: `reconciled` means a dead worker's send was found at the relay and recorded
 * without sending; `skipped` means already sent or failed, or another worker holds it right now.
 */
export type DeliveryOutcome = 'sent' | 'reconciled' | 'retrying' | 'failed' | 'skipped';

/**
 * Sends one email per (message, recipient). A message is recorded as one pending delivery per
 * recipient, then each gets one attempt straight away; a transient SMTP failure leaves it pending
 * with a backed-off due time for DeliveryRetriesService, so neither a bad recipient nor an SMTP
 * outage holds up the Kafka partition. It keeps trying for DELIVERY_GIVE_UP_AFTER (a login code
 * only while it is valid); permanent refusals (5xx, invalid address) and running out of time mark it
 * failed, with the reason, for an operator to re-drive.
 *
 * Exactly once: an attempt marks the delivery `sending` (leased, the lease renewed while the send is
 * queued or in flight) before it hands the email to SMTP, and every later mark applies only to that
 * attempt. Once SMTP has taken the email, the acceptance is journaled on the worker's disk at once
 * (AcceptanceJournal), then recorded, the record retried until the database takes it, never by
 * sending again; a worker killed before the record is reached records it from its journal when it
 * starts again, before attempting anything. Only a worker that dies between the end of the SMTP
 * transaction and that journal write (or that never comes back, or stays cut off from the database
 * while others reach it) leaves a `sending` delivery whose lease lapses. Its email may or may not have
 * gone: with a relay to ask (RelayLookup), the relay is asked for its Message-ID first, and a held one
 * is recorded as sent, reconciled, instead of sent again; while the relay cannot be asked nothing is
 * sent. Without one, it is sent again under the same Message-ID: a reminder may not be lost, and a
 * repeat with the same Message-ID is the lesser harm (docs/RELIABILITY.md).
 */
@Injectable()
export class DeliveriesService implements OnModuleInit, BeforeApplicationShutdown {
  private readonly logger = new Logger(DeliveriesService.name);
  private readonly giveUpAfterMs: number;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;
  private readonly leaseMs: number;
  /** Deliveries this process is sending or recording now: never taken over by its own sweep. */
  private readonly inFlight = new Set<string>();
  /**
   * Lapsed leases this process has seen, by delivery: when first seen, and which lease. Another
   * worker's lease is taken over only once seen lapsed, unrenewed, for half a lease, by our own
   * clock while we reach the database: after a database outage, the worker that sent the email
   * records it (or renews) well within that, instead of racing us to a lease that lapsed meanwhile.
   */
  private readonly lapsedSeen = new LRUCache<string, { leaseEnd: number; firstSeen: number }>({ max: 10_000 });
  private stopping = false;
  /** Sends earlier processes journaled but did not record, being recorded: attempts wait for it. */
  private journalRecorded?: Promise<void>;

  constructor(
    private readonly deliveries: DeliveriesRepository,
    private readonly emails: EmailsService,
    private readonly mailer: MailerService,
    private readonly clock: Clock,
    settings: NotificationSettings,
    private readonly metrics: DeliveryMetrics,
    private readonly journal: AcceptanceJournal,
    /** Null when no relay can be asked (see MailerModule). */
    @Inject(RelayLookup) private readonly relay: RelayLookup | null,
  ) {
    this.giveUpAfterMs = settings.DELIVERY_GIVE_UP_AFTER;
    this.retryBaseMs = settings.DELIVERY_RETRY_BASE_MS;
    this.retryMaxMs = settings.DELIVERY_RETRY_MAX_MS;
    this.leaseMs = settings.DELIVERY_LEASE_MS;
  }

  /** Not awaited: with the database down the service still starts (and answers health) meanwhile. */
  onModuleInit(): void {
    this.journalRecorded = this.recordJournaled();
  }

  beforeApplicationShutdown(): void {
    this.stopping = true;
  }

  /**
   * Records the sends an earlier process of this worker journaled as accepted by SMTP and died before
   * recording, unless a later attempt took the delivery meanwhile; retried until the database takes
   * them, since any attempt started before could send one of them again.
   */
  private async recordJournaled(): Promise<void> {
    const { acceptances } = this.journal.leftBehind;
    for (const [i, acceptance] of acceptances.entries()) {
      for (let tries = 1; ; tries++) {
        try {
          const recorded = await this.deliveries.recordAccepted(acceptance, this.clock.now());
          const log = { deliveryId: acceptance.deliveryId, attempt: acceptance.attempt };
          if (recorded) this.logger.warn(log, 'recorded a send the previous process journaled but did not record');
          break;
        } catch (error) {
          if (this.stopping) return;
          const delay = backoff(tries, this.retryBaseMs, 5_000);
          this.logger.warn(`recording journaled send ${i + 1} of ${acceptances.length} failed (${reasonOf(error)})`);
          await sleep(delay);
        }
      }
    }
    this.journal.discardLeftBehind();
  }

  /** Records and attempts the email of every recipient; resolves once each is sent, scheduled for retry or failed. */
  async deliverAll(message: NotificationMessage): Promise<DeliveryOutcome[]> {
    const recipients = this.emails.recipients(message);
    // Its deliveries were erased with its account after they finished: a redelivery sends nothing.
    if (await this.deliveries.wasErased(message.eventId)) return recipients.map(() => 'skipped');
    const keyId = 'keyId' in message ? message.keyId : null;
    // Recipients are independent: one slow or refused address does not hold up the others.
    const results = await Promise.allSettled(
      recipients.map(async ({ address }) => {
        const created = await this.deliveries.record(
          { eventId: message.eventId, recipient: address, eventType: message.type, keyId, message },
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

  /**
   * Erases what this service holds about a closed account (the key's owner): its deliveries, once
   * each is sent or failed, keep only their eventId so that none is sent again. Those still
   * unfinished (a closure email waiting for a retry) are marked and erased by the retry sweep once
   * they finish. Running it again (a redelivered event) erases what is left and nothing more.
   */
  async eraseAccount(keyId: string, owner: Owner): Promise<void> {
    await this.deliveries.markAccountForErasure(keyId, owner);
    const erased = await this.deliveries.eraseFinished(this.clock.now());
    this.logger.log({ keyId }, `account closed: ${erased} finished deliveries erased`);
  }

  /** One attempt at a delivery, if it is due and no one else takes it first. */
  async attempt(eventId: string, recipient: string, known?: DeliveryRecord): Promise<DeliveryOutcome> {
    const outcome = await this.attemptOnce(eventId, recipient, known);
    this.metrics.attempted(outcome);
    return outcome;
  }

  private async attemptOnce(eventId: string, recipient: string, known?: DeliveryRecord): Promise<DeliveryOutcome> {
    await this.journalRecorded;
    const now = this.clock.now();
    // A delivery this worker has just recorded need not be read back.
    const delivery = known ?? (await this.deliveries.find(eventId, recipient));
    if (!delivery || this.inFlight.has(delivery._id) || (delivery.nextAttemptAt ?? now) > now) return 'skipped';
    if (delivery.status === DeliveryStatus.Sending) return this.reclaimLapsed(delivery, now);
    if (delivery.status !== DeliveryStatus.Pending) return 'skipped';
    const attempt = delivery.attempts + 1;
    if (!(await this.deliveries.startAttempt(delivery, attempt, now, this.leaseFromNow()))) {
      const leaseUntil = await this.deliveries.attemptLeaseUntil(delivery, attempt);
      // Taken by a worker that died before marking the delivery sending: count it so the next can be taken.
      if (leaseUntil && leaseUntil <= now) await this.deliveries.countLostAttempt(delivery, attempt, now);
      return 'skipped';
    }
    this.inFlight.add(delivery._id);
    try {
      return await this.send(delivery, attempt, now);
    } finally {
      this.inFlight.delete(delivery._id);
    }
  }

  private async send(delivery: DeliveryRecord, attempt: number, now: Date): Promise<DeliveryOutcome> {
    const { eventId, recipient } = delivery;
    const log = { keyId: delivery.keyId ?? undefined, eventId, eventType: delivery.eventType, attempt };
    const message = storedNotificationMessage(delivery.message);
    if (this.emails.isStale(message, now)) {
      await this.deliveries.markFailed(delivery, attempt, 'expired before it could be sent', now);
      this.logger.warn(log, 'not sent: the message expired before it could be sent');
      return 'failed';
    }
    let email: RenderedEmail;
    try {
      email = this.emails.compose(message, recipient);
    } catch (error) {
      // A message that cannot be rendered (say, an unknown time zone) will not render on retry either.
      const reason = `cannot render: ${reasonOf(error)}`;
      await this.deliveries.markFailed(delivery, attempt, reason, now);
      this.logger.error(log, reason);
      return 'failed';
    }
    // The lease covers the whole send, however long nodemailer's pool queues it.
    const renewal = setInterval(() => void this.renewLease(delivery, attempt, log), this.leaseMs / 3);
    try {
      let accepted: SmtpAcceptance;
      try {
        accepted = await this.mailer.send({
          to: recipient,
          ...email,
          messageId: messageIdOf(delivery),
        });
      } catch (error) {
        return await this.failedAttempt(delivery, attempt, message, error, log);
      }
      // Journaled before anything else runs (no await in between): the window of a resend closes here.
      const journaled = this.journalAccepted(delivery, attempt, accepted, log);
      const recorded = await this.recordSent(delivery, attempt, accepted, log);
      if (journaled && recorded) this.journal.recorded({ deliveryId: delivery._id, attempt });
      return 'sent';
    } finally {
      clearInterval(renewal);
    }
  }

  /** False when the disk refused: the send is then recorded as before, by the database write alone. */
  private journalAccepted(delivery: DeliveryRecord, attempt: number, accepted: SmtpAcceptance, log: object): boolean {
    try {
      this.journal.accepted({
        deliveryId: delivery._id,
        attempt,
        messageId: accepted.messageId,
        response: accepted.response,
        acceptedAt: this.clock.now().toISOString(),
      });
      return true;
    } catch (error) {
      this.logger.error(
        log,
        `email sent; journaling it failed (${reasonOf(error)}): a crash before its record may resend it`,
      );
      return false;
    }
  }

  /**
   * Records an email SMTP has taken, retrying through database failures: it is never sent again for
   * them. False only when shutdown came first (the journal keeps the send for the next start).
   */
  private async recordSent(
    delivery: DeliveryRecord,
    attempt: number,
    accepted: SmtpAcceptance,
    log: object,
  ): Promise<boolean> {
    for (let tries = 1; ; tries++) {
      try {
        if (await this.deliveries.markSent(delivery, attempt, accepted, this.clock.now())) {
          this.logger.log({ ...log, smtpResponse: accepted.response }, 'email sent');
        } else {
          this.logger.error(log, 'email sent, but another worker settled the delivery meanwhile: it may go twice');
        }
        return true;
      } catch (error) {
        if (this.stopping) {
          this.logger.warn(log, `email sent, not recorded before shutdown (${reasonOf(error)}); the journal keeps it`);
          return false;
        }
        const delay = backoff(tries, this.retryBaseMs, 5_000);
        this.logger.warn(log, `email sent; recording it failed (${reasonOf(error)}), again in ${delay} ms`);
        await sleep(delay);
      }
    }
  }

  private async renewLease(delivery: DeliveryRecord, attempt: number, log: object): Promise<void> {
    try {
      if (!(await this.deliveries.renewLease(delivery, attempt, this.leaseFromNow()))) {
        this.logger.error(log, 'lost the lease of a delivery while sending it');
      }
    } catch (error) {
      this.logger.warn(log, `could not renew the lease (${reasonOf(error)})`);
    }
  }

  /**
   * A delivery left sending by a worker that stopped renewing its lease: after a grace, reconciled
   * with the relay when one can be asked, or attempted again.
   */
  private async reclaimLapsed(delivery: DeliveryRecord, now: Date): Promise<DeliveryOutcome> {
    const leaseEnd = delivery.nextAttemptAt!.getTime();
    const seen = this.lapsedSeen.get(delivery._id);
    if (seen?.leaseEnd !== leaseEnd) {
      this.lapsedSeen.set(delivery._id, { leaseEnd, firstSeen: now.getTime() });
      return 'skipped';
    }
    if (now.getTime() - seen.firstSeen < this.leaseMs / 2) return 'skipped';
    this.lapsedSeen.delete(delivery._id);
    const log = { keyId: delivery.keyId ?? undefined, eventId: delivery.eventId, attempt: delivery.attempts };
    let unknown = 'whether SMTP took the email is unknown, so it is sent again under the same Message-ID';
    if (this.relay) {
      const asked = await this.askRelay(this.relay, delivery, now, log);
      if (asked !== 'not held') return asked;
      unknown = 'the relay does not hold its Message-ID, so it is sent again';
    }
    const error = `attempt ${delivery.attempts} stopped mid-send (its lease lapsed); ${unknown}`;
    const again = { status: DeliveryStatus.Pending, error, nextAttemptAt: now };
    if (!(await this.deliveries.settleLapsed(delivery, again, now))) return 'skipped';
    this.logger.warn(log, error);
    return this.attemptOnce(delivery.eventId, delivery.recipient);
  }

  /**
   * Asks the relay whether it holds the email of a lapsed attempt, whose worker may have died after
   * the relay stored it and before its journal write. Only now: the lease lapsed a grace ago, so a
   * send still committing at the relay has long finished. Held: the send is recorded, reconciled,
   * with what the relay said. Unanswered: nothing is sent blind; the delivery stays sending under a
   * later lease and is asked about again, until its give-up time.
   */
  private async askRelay(
    relay: RelayLookup,
    delivery: DeliveryRecord,
    now: Date,
    log: object,
  ): Promise<DeliveryOutcome | 'not held'> {
    const messageId = messageIdOf(delivery);
    let held: RelayHeldMessage | null;
    try {
      held = await relay.find({ messageId, to: delivery.recipient });
    } catch (error) {
      this.metrics.relayUnanswered();
      return this.relayUnanswered(delivery, now, reasonOf(error), log);
    }
    if (!held) return 'not held';
    const smtpResponse = `reconciled: ${held.evidence}`;
    const fields = { status: DeliveryStatus.Sent, smtpMessageId: messageId, smtpResponse, error: null };
    if (!(await this.deliveries.settleLapsed(delivery, fields, this.clock.now()))) return 'skipped';
    this.logger.warn(
      { ...log, smtpResponse },
      'the relay holds the email of a send whose worker died: recorded as sent, not sent again',
    );
    return 'reconciled';
  }

  private async relayUnanswered(
    delivery: DeliveryRecord,
    now: Date,
    reason: string,
    log: object,
  ): Promise<DeliveryOutcome> {
    const unknown =
      `attempt ${delivery.attempts} stopped mid-send and the relay could not be asked ` +
      `whether it holds the email (${reason})`;
    const since = triedSince(delivery);
    const giveUpAt = this.giveUpAt(delivery, storedNotificationMessage(delivery.message));
    if (now.getTime() >= giveUpAt) {
      const error = `gave up after ${formatDuration(now.getTime() - since)}: ${unknown}; not sent again blind`;
      const failed = { status: DeliveryStatus.Failed, error };
      if (!(await this.deliveries.settleLapsed(delivery, failed, now))) return 'skipped';
      this.logger.error(log, `delivery failed: ${error}`);
      return 'failed';
    }
    // As far apart as SMTP retries at their longest; the grace for a lapsed lease comes on top.
    const next = new Date(Math.min(now.getTime() + this.retryMaxMs, giveUpAt));
    const error = `${unknown}; asked again after ${next.toISOString()}`;
    if (!(await this.deliveries.settleLapsed(delivery, { error, nextAttemptAt: next }, now))) return 'skipped';
    this.logger.warn(log, error);
    return 'retrying';
  }

  private async failedAttempt(
    delivery: DeliveryRecord,
    attempt: number,
    message: NotificationMessage,
    error: unknown,
    log: object,
  ): Promise<DeliveryOutcome> {
    const reason = reasonOf(error);
    const now = this.clock.now();
    if (isPermanentSmtpError(error)) {
      await this.deliveries.markFailed(delivery, attempt, reason, now);
      this.logger.warn(log, `permanent delivery failure, not retried: ${reason}`);
      return 'failed';
    }
    const since = triedSince(delivery);
    const giveUpAt = this.giveUpAt(delivery, message);
    if (now.getTime() >= giveUpAt) {
      const reasonFailed = `gave up after ${formatDuration(now.getTime() - since)} and ${attempt} attempts: ${reason}`;
      await this.deliveries.markFailed(delivery, attempt, reasonFailed, now);
      this.logger.error(log, `delivery failed: ${reasonFailed}`);
      return 'failed';
    }
    // The last attempt falls at the give-up time, not after it.
    const next = Math.min(now.getTime() + backoff(attempt, this.retryBaseMs, this.retryMaxMs), giveUpAt);
    await this.deliveries.markRetry(delivery, attempt, reason, new Date(next), now);
    this.logger.warn(log, `SMTP attempt ${attempt} failed (${reason}); next attempt in ${next - now.getTime()} ms`);
    return 'retrying';
  }

  /** When a delivery stops being tried: the end of its window, or when its message stops being useful. */
  private giveUpAt(delivery: DeliveryRecord, message: NotificationMessage): number {
    return Math.min(triedSince(delivery) + this.giveUpAfterMs, this.emails.usefulUntil(message));
  }

  private leaseFromNow(): Date {
    return new Date(this.clock.now().getTime() + this.leaseMs);
  }
}

/** The give-up window starts when the delivery was recorded, or again when an operator re-drove it. */
const triedSince = (delivery: DeliveryRecord) => (delivery.redrivenAt ?? delivery.createdAt).getTime();

const reasonOf = (error: unknown) => (error instanceof Error ? error.message : String(error));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `1h 30m`, `45s`: how long a delivery kept trying, for its failure reason. */
function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  const parts = [
    [Math.floor(s / 3600), 'h'],
    [Math.floor((s % 3600) / 60), 'm'],
    [s % 60, 's'],
  ].filter(([n]) => n) as [number, string][];
  return parts.length ? parts.map(([n, u]) => `${n}${u}`).join(' ') : `${ms} ms`;
}
