import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { Model } from 'mongoose';
import { DeliveryAttempt } from './delivery-attempt.schema';
import { Delivery, DeliveryStatus } from './delivery.schema';

export type NewDelivery = Pick<Delivery, 'eventId' | 'recipient' | 'eventType' | 'keyId' | 'message'>;
export type DeliveryRecord = Delivery;

@Injectable()
export class DeliveriesRepository {
  constructor(
    @InjectModel(Delivery.name) private readonly deliveries: Model<Delivery>,
    @InjectModel(DeliveryAttempt.name) private readonly attempts: Model<DeliveryAttempt>,
  ) {}

  /** Records a delivery as pending and due now, unless it is already recorded (a redelivered message). */
  async record(fields: NewDelivery, now: Date): Promise<void> {
    try {
      await this.deliveries.updateOne(
        { eventId: fields.eventId, recipient: fields.recipient },
        {
          $setOnInsert: {
            ...fields,
            status: DeliveryStatus.Pending,
            attempts: 0,
            nextAttemptAt: now,
            smtpMessageId: null,
            error: null,
            createdAt: now,
            updatedAt: now,
          },
        },
        { upsert: true },
      );
    } catch (error) {
      // Two consumers recording the same delivery at once: the other insert won, which is all we need.
      if ((error as { code?: number }).code !== 11000) throw error;
    }
  }

  async find(eventId: string, recipient: string): Promise<DeliveryRecord | null> {
    return this.deliveries.findOne({ eventId, recipient }).lean().exec();
  }

  /**
   * Takes attempt number `attempt` of a delivery for this worker; false when another worker took it
   * first (a unique insert, the one atomic claim FerretDB offers).
   */
  async startAttempt(delivery: DeliveryRecord, attempt: number, now: Date, leaseUntil: Date): Promise<boolean> {
    try {
      await this.attempts.create({
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
    const found = await this.attempts
      .findOne({ eventId: delivery.eventId, recipient: delivery.recipient, attempt })
      .lean()
      .exec();
    return found?.leaseUntil ?? null;
  }

  /** Counts an attempt whose worker died mid-way, so the next one can be taken. */
  async countLostAttempt(delivery: DeliveryRecord, attempt: number, now: Date): Promise<void> {
    await this.deliveries.updateOne(
      {
        eventId: delivery.eventId,
        recipient: delivery.recipient,
        status: DeliveryStatus.Pending,
        attempts: attempt - 1,
      },
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
      { eventId: delivery.eventId, recipient: delivery.recipient },
      { $set: { ...fields, attempts: delivery.attempts + 1, updatedAt: now } },
    );
  }
}
