import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { validateEnv } from '@keyward/platform';
import { z } from 'zod';
import { kafkaEnv } from '../kafka.config';
import { KafkaModule } from '../kafka.module';
import { DeadLetters } from './dead-letters';

/** The dlq:replay command's application: the Kafka settings every service reads, nothing else. */
@Module({
  imports: [
    ConfigModule.forRoot({
      isGlobal: true,
      ignoreEnvFile: true,
      validate: validateEnv(z.object({ SERVICE_NAME: z.string().default('dlq-replay'), ...kafkaEnv })),
    }),
    KafkaModule,
  ],
  providers: [DeadLetters],
})
export class DeadLettersModule {}
