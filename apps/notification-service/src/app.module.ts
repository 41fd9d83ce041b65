import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { APP_FILTER } from '@nestjs/core';
import { KafkaHealthIndicator, KafkaModule } from '@keyward/kafka';
import { MetricsModule } from '@keyward/metrics';
import { MongoModule } from '@keyward/mongo';
import { ClockModule, HealthModule, LoggingModule, ProblemDetailsFilter } from '@keyward/platform';
import { SettingsModule, validateEnv } from '@keyward/settings';
import { NotificationSettings, notificationServiceEnv } from './config/notification-service.env';
import { KeyEventsModule } from './key-events/key-events.module';
import { LoginCodesModule } from './login-codes/login-codes.module';

@Module({
  imports: [
    ConfigModule.forRoot({
      isGlobal: true,
      ignoreEnvFile: true,
      validate: validateEnv(notificationServiceEnv),
    }),
    SettingsModule.register(NotificationSettings),
    LoggingModule.forRoot(),
    MongoModule,
    KafkaModule,
    ClockModule,
    HealthModule.register(KafkaHealthIndicator),
    MetricsModule,
    KeyEventsModule,
    LoginCodesModule,
  ],
  providers: [{ provide: APP_FILTER, useClass: ProblemDetailsFilter }],
})
export class NotificationServiceModule {}
