import { Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { Model } from 'mongoose';
import { Delivery, DeliveryStatus } from './delivery.schema';

@Injectable()
export class DeliveriesRepository {
  constructor(@InjectModel(Delivery.name) private readonly deliveries: Model<Delivery>) {}

  /** The delivery record for (eventId, recipient), created as pending on first sight. */
  async claim(
    fields: {
      eventId: string;
      recipient: string;
      eventType: string;
      keyId: string;
    },
    now = new Date(),
  ) {
    return this.deliveries
      .findOneAndUpdate(
        { eventId: fields.eventId, recipient: fields.recipient },
        {
          $setOnInsert: {
            ...fields,
            status: DeliveryStatus.Pending,
            attempts: 0,
            createdAt: now,
            updatedAt: now,
          },
        },
        { upsert: true, new: true },
      )
      .lean()
      .exec();
  }

  async markSent(eventId: string, recipient: string, smtpMessageId: string): Promise<void> {
    await this.deliveries.updateOne(
      { eventId, recipient },
      {
        $set: {
          status: DeliveryStatus.Sent,
          smtpMessageId,
          error: null,
          updatedAt: new Date(),
        },
        $inc: { attempts: 1 },
      },
    );
  }

  async markAttemptFailed(eventId: string, recipient: string, error: string, permanent: boolean): Promise<void> {
    await this.deliveries.updateOne(
      { eventId, recipient },
      {
        $set: {
          error,
          updatedAt: new Date(),
          ...(permanent ? { status: DeliveryStatus.Failed } : {}),
        },
        $inc: { attempts: 1 },
      },
    );
  }
}
