import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { Model } from 'mongoose';
import { DeliveryAttempt } from './delivery-attempt.schema';
import { Delivery, DeliveryStatus } from './delivery.schema';

export type NewDelivery = Pick<Delivery, 'eventId' | 'recipient' | 'eventType' | 'keyId' | 'message'>;
export type DeliveryRecord = Delivery;

/**
 * The delivery's _id is its (eventId, recipient): FerretDB v1 looks documents up quickly only by
 * _id (other filters scan the collection, see docs/stack.md), and the key is unique by itself.
 */
export const deliveryId = (eventId: string, recipient: string) => `${eventId}/${recipient}`;

/** A delivery as first recorded: pending and due now. */
export function pendingDelivery(fields: NewDelivery, now: Date): DeliveryRecord {
  return {
    _id: deliveryId(fields.eventId, fields.recipient),
    ...fields,
    status: DeliveryStatus.Pending,
    attempts: 0,
    nextAttemptAt: now,
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
  ) {}

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
      if ((error as { code?: number }).code !== 11000) throw error;
      return null;
    }
  }

  async find(eventId: string, recipient: string): Promise<DeliveryRecord | null> {
    return this.deliveries.findById(deliveryId(eventId, recipient)).lean().exec();
  }

  /**
   * Takes attempt number `attempt` of a delivery for this worker; false when another worker took it
   * first (a unique insert, the one atomic claim FerretDB offers).
   */
  async startAttempt(delivery: DeliveryRecord, attempt: number, now: Date, leaseUntil: Date): Promise<boolean> {
    try {
      await this.attempts.create({
        _id: `${delivery._id}/${attempt}`,
        eventId: delivery.eventId,
        recipient: delivery.recipient,
        attempt,
        startedAt: now,
        leaseUntil,
      });
      return true;
    } catch (error) {
      if ((error as { code?: number }).code === 11000) return false;
      throw error;
    }
  }

  async attemptLeaseUntil(delivery: DeliveryRecord, attempt: number): Promise<Date | null> {
    const found = await this.attempts.findById(`${delivery._id}/${attempt}`).lean().exec();
    return found?.leaseUntil ?? null;
  }

  /** Counts an attempt whose worker died mid-way, so the next one can be taken. */
  async countLostAttempt(delivery: DeliveryRecord, attempt: number, now: Date): Promise<void> {
    await this.deliveries.updateOne(
      { _id: delivery._id, status: DeliveryStatus.Pending, attempts: attempt - 1 },
      { $set: { attempts: attempt, error: 'attempt lost (worker stopped mid-send)', updatedAt: now } },
    );
  }

  /** Pending deliveries whose next attempt is due, oldest first. */
  async due(now: Date, limit: number): Promise<Pick<Delivery, 'eventId' | 'recipient'>[]> {
    return this.deliveries
      .find({ status: DeliveryStatus.Pending, nextAttemptAt: { $lte: now } }, { eventId: 1, recipient: 1 })
      .sort({ nextAttemptAt: 1 })
      .limit(limit)
      .lean()
      .exec();
  }

  async markSent(delivery: DeliveryRecord, smtpMessageId: string, now: Date): Promise<void> {
    await this.finish(delivery, { status: DeliveryStatus.Sent, smtpMessageId, error: null }, now);
  }

  async markFailed(delivery: DeliveryRecord, error: string, now: Date): Promise<void> {
    await this.finish(delivery, { status: DeliveryStatus.Failed, error }, now);
  }

  async markRetry(delivery: DeliveryRecord, error: string, nextAttemptAt: Date, now: Date): Promise<void> {
    await this.finish(delivery, { status: DeliveryStatus.Pending, error, nextAttemptAt }, now);
  }

  private async finish(delivery: DeliveryRecord, fields: Partial<Delivery>, now: Date): Promise<void> {
    await this.deliveries.updateOne(
      { _id: delivery._id },
      { $set: { ...fields, attempts: delivery.attempts + 1, updatedAt: now } },
    );
  }
}
