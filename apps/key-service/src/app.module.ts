import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { APP_FILTER } from '@nestjs/core';
import { KafkaHealthIndicator, KafkaModule } from '@keyward/kafka';
import { MetricsModule } from '@keyward/metrics';
import { MongoModule } from '@keyward/mongo';
import { ClockModule, HealthModule, LoggingModule, ProblemDetailsFilter } from '@keyward/platform';
import { SettingsModule, validateEnv } from '@keyward/settings';
import { AccountModule } from './account/account.module';
import { ActivityModule } from './activity/activity.module';
import { AuthModule } from './auth/auth.module';
import { keyServiceEnv, KeyServiceSettings } from './config/key-service.env';
import { KeysModule } from './keys/keys.module';
import { LeaksModule } from './leaks/leaks.module';
import { WebModule } from './web/web.module';
import { OutboxModule } from './outbox/outbox.module';
import { RemindersModule } from './reminders/reminders.module';
import { VerificationModule } from './verification/verification.module';

@Module({
  imports: [
    ConfigModule.forRoot({
      isGlobal: true,
      ignoreEnvFile: true,
      validate: validateEnv(keyServiceEnv),
    }),
    SettingsModule.register(KeyServiceSettings),
    LoggingModule.forRoot(),
    MongoModule,
    KafkaModule,
    HealthModule.register(KafkaHealthIndicator),
    MetricsModule,
    ClockModule,
    OutboxModule.forRoot(),
    AuthModule,
    KeysModule,
    WebModule,
    RemindersModule,
    VerificationModule,
    LeaksModule,
    ActivityModule,
    AccountModule,
  ],
  providers: [{ provide: APP_FILTER, useClass: ProblemDetailsFilter }],
})
export class KeyServiceModule {}
