import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { APP_FILTER } from '@nestjs/core';
import { ScheduleModule } from '@nestjs/schedule';
import { KafkaHealthIndicator, KafkaModule } from '@keyward/kafka';
import { MetricsModule } from '@keyward/metrics';
import { MongoModule } from '@keyward/mongo';
import { ClockModule, HealthModule, LoggingModule, ProblemDetailsFilter } from '@keyward/platform';
import { SettingsModule, validateEnv } from '@keyward/settings';
import { SchedulerSettings, schedulerServiceEnv } from './config/scheduler-service.env';
import { RemindersModule } from './reminders/reminders.module';

@Module({
  imports: [
    ConfigModule.forRoot({
      isGlobal: true,
      ignoreEnvFile: true,
      validate: validateEnv(schedulerServiceEnv),
    }),
    SettingsModule.register(SchedulerSettings),
    LoggingModule.forRoot(),
    MongoModule,
    KafkaModule,
    HealthModule.register(KafkaHealthIndicator),
    MetricsModule,
    ClockModule,
    ScheduleModule.forRoot(),
    RemindersModule,
  ],
  providers: [{ provide: APP_FILTER, useClass: ProblemDetailsFilter }],
})
export class SchedulerServiceModule {}
