import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { Model } from 'mongoose';
import { Delivery, DeliveryStatus } from './delivery.schema';

export type NewDelivery = Pick<Delivery, 'eventId' | 'recipient' | 'eventType' | 'keyId' | 'message'>;
export type DeliveryRecord = Delivery;

@Injectable()
export class DeliveriesRepository {
  constructor(@InjectModel(Delivery.name) private readonly deliveries: Model<Delivery>) {}

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

  /**
   * Takes a pending, due delivery for one attempt by moving its due time to `leaseUntil`, so no
   * other consumer or sweep sends it meanwhile; null when it is sent, failed or held elsewhere.
   */
  async lease(eventId: string, recipient: string, now: Date, leaseUntil: Date): Promise<DeliveryRecord | null> {
    return this.deliveries
      .findOneAndUpdate(
        { eventId, recipient, status: DeliveryStatus.Pending, nextAttemptAt: { $lte: now } },
        { $set: { nextAttemptAt: leaseUntil, updatedAt: now } },
        { new: true },
      )
      .lean()
      .exec();
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
