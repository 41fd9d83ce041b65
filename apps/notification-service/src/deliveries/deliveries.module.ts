import { Module } from '@nestjs/common';
import { MongooseModule } from '@nestjs/mongoose';
import { EmailsModule } from '../emails/emails.module';
import { MailerModule } from '../mailer/mailer.module';
import { AcceptanceJournal } from './acceptance-journal';
import { DeliveriesRepository } from './deliveries.repository';
import { DeliveriesService } from './deliveries.service';
import { DeliveryRetriesService } from './delivery-retries.service';
import { DeliveryAttempt, DeliveryAttemptSchema } from './delivery-attempt.schema';
import { Delivery, DeliverySchema } from './delivery.schema';
import { DeliveryMetrics } from './delivery.metrics';
import { ErasedEvent, ErasedEventSchema } from './erased-event.schema';

@Module({
  imports: [
    MongooseModule.forFeature([
      { name: Delivery.name, schema: DeliverySchema },
      { name: DeliveryAttempt.name, schema: DeliveryAttemptSchema },
      { name: ErasedEvent.name, schema: ErasedEventSchema },
    ]),
    EmailsModule,
    MailerModule,
  ],
  providers: [AcceptanceJournal, DeliveriesRepository, DeliveriesService, DeliveryRetriesService, DeliveryMetrics],
  exports: [DeliveriesService],
})
export class DeliveriesModule {}
