import { Module } from '@nestjs/common';
import { EmailsModule } from '../emails/emails.module';
import { MailerModule } from '../mailer/mailer.module';
import { AcceptanceJournal } from './acceptance-journal';
import { DeliveriesRepository } from './deliveries.repository';
import { DeliveryModels } from './delivery-models';
import { DeliveriesService } from './deliveries.service';
import { DeliveryRetriesService } from './delivery-retries.service';
import { DeliveryMetrics } from './delivery.metrics';

@Module({
  imports: [DeliveryModels, EmailsModule, MailerModule],
  providers: [AcceptanceJournal, DeliveriesRepository, DeliveriesService, DeliveryRetriesService, DeliveryMetrics],
  exports: [DeliveriesService],
})
export class DeliveriesModule {}
