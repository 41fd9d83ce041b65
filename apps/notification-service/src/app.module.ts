import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { APP_FILTER } from '@nestjs/core';
import { KafkaModule } from '@keyward/kafka';
import { MongoModule } from '@keyward/mongo';
import { HealthModule, LoggingModule, ProblemDetailsFilter, validateEnv } from '@keyward/platform';
import { notificationServiceEnv } from './config/notification-service.env';
import { KeyEventsModule } from './key-events/key-events.module';

@Module({
  imports: [
    ConfigModule.forRoot({
      isGlobal: true,
      ignoreEnvFile: true,
      validate: validateEnv(notificationServiceEnv),
    }),
    LoggingModule,
    MongoModule,
    KafkaModule,
    HealthModule,
    KeyEventsModule,
  ],
  providers: [{ provide: APP_FILTER, useClass: ProblemDetailsFilter }],
})
export class NotificationServiceModule {}
