import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { claimOnce, isDuplicateKeyError } from '@keyward/mongo';
import { FilterQuery, Model } from 'mongoose';
import { ACCOUNT_CLOSURE_CODE_REQUESTED, LOGIN_CODE_REQUESTED, Owner } from '@keyward/contracts';
import { SmtpAcceptance } from '../mailer/mailer.service';
import { Acceptance } from './acceptance-journal';
import { DeliveryAttempt } from './delivery-attempt.schema';
import { Delivery, DeliveryStatus } from './delivery.schema';
import { ErasedEvent } from './erased-event.schema';
import { newMessageId } from './message-id';

export type NewDelivery = Pick<Delivery, 'eventId' | 'recipient' | 'eventType' | 'keyId' | 'message'>;
export type DeliveryRecord = Delivery;

/**
 * The delivery's _id is its (eventId, recipient): hot lookups are by _id (see libs/mongo), and
 * the key is unique by itself.
 */
export const deliveryId = (eventId: string, recipient: string) => `${eventId}/${recipient}`;

/** A delivery as first recorded: pending and due now, with the Message-ID all its attempts send. */
export function pendingDelivery(fields: NewDelivery, now: Date): DeliveryRecord {
  return {
    _id: deliveryId(fields.eventId, fields.recipient),
    ...fields,
    status: DeliveryStatus.Pending,
    attempts: 0,
    nextAttemptAt: now,
    messageId: newMessageId(fields.eventId),
    smtpMessageId: null,
    error: null,
    createdAt: now,
    updatedAt: now,
  };
}

@Injectable()
export class DeliveriesRepository {
  constructor(
    @InjectModel(Delivery.name) private readonly deliveries: Model<Delivery>,
    @InjectModel(DeliveryAttempt.name) private readonly attempts: Model<DeliveryAttempt>,
    @InjectModel(ErasedEvent.name) private readonly erasedEvents: Model<ErasedEvent>,
  ) {}

  /** Whether the deliveries of this message were erased with its account: it is then never recorded again. */
  async wasErased(eventId: string): Promise<boolean> {
    return (await this.erasedEvents.exists({ _id: eventId }).exec()) !== null;
  }

  /**
   * Marks every delivery about a closed account to be erased once finished: those of its keys (the
   * closing key's, and any whose stored message names the owner) and the one-time codes sent to its
   * login address. Messages stored as JSON text by the previous version are found only by the key.
   */
  async markAccountForErasure(keyId: string, owner: Owner): Promise<void> {
    await this.deliveries.updateMany(
      {
        $or: [
          { keyId },
          { 'message.owner.userId': owner.userId },
          { recipient: owner.email, eventType: { $in: [LOGIN_CODE_REQUESTED, ACCOUNT_CLOSURE_CODE_REQUESTED] } },
        ],
      },
      { $set: { eraseWhenFinished: true } },
    );
  }

  /**
   * Erases marked deliveries that are sent or failed, a batch at a time; returns how many. Their
   * events are remembered first, then their attempts and themselves deleted, so a crash anywhere
   * leaves nothing a redelivered message could be sent again through, and the next run finishes.
   */
  async eraseFinished(now: Date, batch = 100): Promise<number> {
    let erased = 0;
    for (;;) {
      const finished = await this.deliveries
        .find(
          { eraseWhenFinished: true, status: { $in: [DeliveryStatus.Sent, DeliveryStatus.Failed] } },
          { eventId: 1, recipient: 1, eventType: 1 },
        )
        .limit(batch)
        .lean()
        .exec();
      if (finished.length === 0) return erased;
      await Promise.all(
        finished.map(({ eventId, eventType }) =>
          this.erasedEvents.updateOne(
            { _id: eventId },
            { $setOnInsert: { eventType, erasedAt: now } },
            { upsert: true },
          ),
        ),
      );
      await this.attempts.deleteMany({ $or: finished.map(({ eventId, recipient }) => ({ eventId, recipient })) });
      // Still finished: one an operator re-drove meanwhile is erased once it finishes again.
      const { deletedCount } = await this.deliveries.deleteMany({
        _id: { $in: finished.map((d) => d._id) },
        status: { $in: [DeliveryStatus.Sent, DeliveryStatus.Failed] },
      });
      erased += deletedCount;
      if (finished.length < batch) return erased;
    }
  }

  /**
   * Records a delivery as pending and due now; returns it when this call created it, null when it
   * was already recorded (a redelivered message).
   */
  async record(fields: NewDelivery, now: Date): Promise<DeliveryRecord | null> {
    const delivery = pendingDelivery(fields, now);
    try {
      const { upsertedCount } = await this.deliveries.updateOne(
        { _id: delivery._id },
        { $setOnInsert: delivery },
        { upsert: true },
      );
      return upsertedCount === 1 ? delivery : null;
    } catch (error) {
      // Two consumers recording the same delivery at once: the other insert won, which is all we need.
      if (!isDuplicateKeyError(error)) throw error;
      return null;
    }
  }

  async find(eventId: string, recipient: string): Promise<DeliveryRecord | null> {
    return this.deliveries.findById(deliveryId(eventId, recipient)).lean().exec();
  }

  /**
   * Takes attempt number `attempt` of a pending delivery for this worker and marks it sending, leased
   * until `leaseUntil`; false when another worker took it first. The claim is the insert of the
   * attempt record (a unique key lets exactly one of several racing workers in, and workers of the
   * previous version claim the same way), then the delivery moves from pending to sending only if
   * nobody moved it since it was read.
   */
  async startAttempt(delivery: DeliveryRecord, attempt: number, now: Date, leaseUntil: Date): Promise<boolean> {
    const claimed = await claimOnce(this.attempts, {
      _id: `${delivery._id}/${attempt}`,
      eventId: delivery.eventId,
      recipient: delivery.recipient,
      attempt,
      startedAt: now,
      leaseUntil,
    });
    if (!claimed) return false;
    const { modifiedCount } = await this.deliveries.updateOne(
      { _id: delivery._id, status: DeliveryStatus.Pending, attempts: attempt - 1 },
      { $set: { status: DeliveryStatus.Sending, attempts: attempt, nextAttemptAt: leaseUntil, updatedAt: now } },
    );
    return modifiedCount === 1;
  }

  async attemptLeaseUntil(delivery: DeliveryRecord, attempt: number): Promise<Date | null> {
    const found = await this.attempts.findById(`${delivery._id}/${attempt}`).lean().exec();
    return found?.leaseUntil ?? null;
  }

  /**
   * Counts an attempt whose worker died between taking it and marking the delivery sending (or a
   * worker of the previous version, which never marked it), so the next one can be taken.
   */
  async countLostAttempt(delivery: DeliveryRecord, attempt: number, now: Date): Promise<void> {
    await this.deliveries.updateOne(
      { _id: delivery._id, status: DeliveryStatus.Pending, attempts: attempt - 1 },
      { $set: { attempts: attempt, error: 'attempt lost (worker stopped mid-send)', updatedAt: now } },
    );
  }

  /** Extends the lease of the attempt this worker holds; false when it no longer holds it. */
  async renewLease(delivery: DeliveryRecord, attempt: number, leaseUntil: Date): Promise<boolean> {
    const { modifiedCount } = await this.deliveries.updateOne(
      { _id: delivery._id, status: DeliveryStatus.Sending, attempts: attempt },
      { $set: { nextAttemptAt: leaseUntil } },
    );
    return modifiedCount === 1;
  }

  /**
   * Settles a sending delivery whose lease lapsed (its worker died), as read: back to pending to be
   * sent again, sent when the relay holds its email, failed, or still sending under a later lease
   * while the relay cannot be asked. A lease renewed or a delivery moved since it was read is left
   * alone: false then.
   */
  async settleLapsed(
    delivery: DeliveryRecord,
    fields: Partial<Pick<Delivery, 'status' | 'nextAttemptAt' | 'smtpMessageId' | 'smtpResponse' | 'error'>>,
    now: Date,
  ): Promise<boolean> {
    const { modifiedCount } = await this.deliveries.updateOne(
      {
        _id: delivery._id,
        status: DeliveryStatus.Sending,
        attempts: delivery.attempts,
        nextAttemptAt: delivery.nextAttemptAt,
      },
      { $set: { ...fields, updatedAt: now } },
    );
    return modifiedCount === 1;
  }

  /** How many deliveries are not finished yet (pending, or being sent). */
  async waiting(): Promise<number> {
    return this.deliveries.countDocuments({ status: { $in: [DeliveryStatus.Pending, DeliveryStatus.Sending] } }).exec();
  }

  /** Deliveries to look at now: pending ones due, and sending ones whose lease lapsed; oldest first. */
  async due(now: Date, limit: number): Promise<Pick<Delivery, 'eventId' | 'recipient'>[]> {
    return this.deliveries
      .find(
        { status: { $in: [DeliveryStatus.Pending, DeliveryStatus.Sending] }, nextAttemptAt: { $lte: now } },
        { eventId: 1, recipient: 1 },
      )
      .sort({ nextAttemptAt: 1 })
      .limit(limit)
      .lean()
      .exec();
  }

  /** Each mark below applies only while attempt `attempt` still holds the delivery; false otherwise. */
  async markSent(delivery: DeliveryRecord, attempt: number, smtp: SmtpAcceptance, now: Date): Promise<boolean> {
    return this.finish(
      delivery,
      attempt,
      { status: DeliveryStatus.Sent, smtpMessageId: smtp.messageId, smtpResponse: smtp.response, error: null },
      now,
    );
  }

  /**
   * Records a send an earlier process journaled as accepted by SMTP and died before recording: only
   * while no later attempt has started (the delivery still sending, or put back to pending after its
   * lease lapsed, with the same attempt count); false otherwise.
   */
  async recordAccepted(acceptance: Acceptance, now: Date): Promise<boolean> {
    const { modifiedCount } = await this.deliveries.updateOne(
      {
        _id: acceptance.deliveryId,
        status: { $in: [DeliveryStatus.Sending, DeliveryStatus.Pending] },
        attempts: acceptance.attempt,
      },
      {
        $set: {
          status: DeliveryStatus.Sent,
          smtpMessageId: acceptance.messageId,
          smtpResponse: acceptance.response,
          error: null,
          updatedAt: now,
        },
      },
    );
    return modifiedCount === 1;
  }

  async markFailed(delivery: DeliveryRecord, attempt: number, error: string, now: Date): Promise<boolean> {
    return this.finish(delivery, attempt, { status: DeliveryStatus.Failed, error }, now);
  }

  async markRetry(
    delivery: DeliveryRecord,
    attempt: number,
    error: string,
    nextAttemptAt: Date,
    now: Date,
  ): Promise<boolean> {
    return this.finish(delivery, attempt, { status: DeliveryStatus.Pending, error, nextAttemptAt }, now);
  }

  private async finish(delivery: DeliveryRecord, attempt: number, fields: Partial<Delivery>, now: Date) {
    const { modifiedCount } = await this.deliveries.updateOne(
      { _id: delivery._id, status: DeliveryStatus.Sending, attempts: attempt },
      { $set: { ...fields, updatedAt: now } },
    );
    return modifiedCount === 1;
  }

  /** Failed deliveries matching an operator's filter, oldest first. */
  async failed(filter: RedriveFilter): Promise<DeliveryRecord[]> {
    return this.deliveries.find(failedMatching(filter)).sort({ createdAt: 1 }).lean().exec();
  }

  /**
   * Puts failed deliveries back to pending, due now, with a fresh give-up window; only those still
   * failed, so a second run (or a delivery sent meanwhile) changes nothing.
   */
  async redrive(ids: string[], now: Date): Promise<number> {
    if (ids.length === 0) return 0;
    const { modifiedCount } = await this.deliveries.updateMany(
      { _id: { $in: ids }, status: DeliveryStatus.Failed },
      { $set: { status: DeliveryStatus.Pending, nextAttemptAt: now, redrivenAt: now, updatedAt: now } },
    );
    return modifiedCount;
  }
}

/** Which failed deliveries an operator re-drives: all of them, or by event, recipient and time recorded. */
export interface RedriveFilter {
  eventId?: string;
  recipient?: string;
  since?: Date;
  until?: Date;
}

function failedMatching({ eventId, recipient, since, until }: RedriveFilter): FilterQuery<Delivery> {
  const query: FilterQuery<Delivery> = { status: DeliveryStatus.Failed };
  if (eventId) query.eventId = eventId;
  if (recipient) query.recipient = recipient;
  if (since || until) query.createdAt = { ...(since && { $gte: since }), ...(until && { $lt: until }) };
  return query;
}
