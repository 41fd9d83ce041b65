import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { APP_FILTER } from '@nestjs/core';
import { KafkaModule } from '@keyward/kafka';
import { MongoModule } from '@keyward/mongo';
import { HealthModule, LoggingModule, ProblemDetailsFilter, validateEnv } from '@keyward/platform';
import { schedulerServiceEnv } from './config/scheduler-service.env';

@Module({
  imports: [
    ConfigModule.forRoot({
      isGlobal: true,
      ignoreEnvFile: true,
      validate: validateEnv(schedulerServiceEnv),
    }),
    LoggingModule,
    MongoModule,
    KafkaModule,
    HealthModule,
  ],
  providers: [{ provide: APP_FILTER, useClass: ProblemDetailsFilter }],
})
export class SchedulerServiceModule {}
