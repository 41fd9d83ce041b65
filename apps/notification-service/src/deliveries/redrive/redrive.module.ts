import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { MongoModule } from '@keyward/mongo';
import { validateEnv } from '@keyward/settings';
import { notificationServiceEnv } from '../../config/notification-service.env';
import { DeliveriesRepository } from '../deliveries.repository';
import { DeliveryModels } from '../delivery-models';

/** The redrive command's application: notification-service's configuration and database, without Kafka or SMTP. */
@Module({
  imports: [
    ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, validate: validateEnv(notificationServiceEnv) }),
    MongoModule,
    DeliveryModels,
  ],
  providers: [DeliveriesRepository],
})
export class RedriveModule {}
