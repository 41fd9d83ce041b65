import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { MongooseModule } from '@nestjs/mongoose';
import { MongoModule } from '@keyward/mongo';
import { validateEnv } from '@keyward/settings';
import { notificationServiceEnv } from '../../config/notification-service.env';
import { DeliveriesRepository } from '../deliveries.repository';
import { DeliveryAttempt, DeliveryAttemptSchema } from '../delivery-attempt.schema';
import { Delivery, DeliverySchema } from '../delivery.schema';

/** The redrive command's application: notification-service's configuration and database, without Kafka or SMTP. */
@Module({
  imports: [
    ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, validate: validateEnv(notificationServiceEnv) }),
    MongoModule,
    MongooseModule.forFeature([
      { name: Delivery.name, schema: DeliverySchema },
      { name: DeliveryAttempt.name, schema: DeliveryAttemptSchema },
    ]),
  ],
  providers: [DeliveriesRepository],
})
export class RedriveModule {}
