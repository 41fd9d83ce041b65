import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { settingsOf, validateEnv } from '@keyward/settings';
import { z } from 'zod';
import { kafkaEnv } from '../kafka.config';
import { KafkaModule } from '../kafka.module';
import { DeadLetters } from './dead-letters';

const replayEnv = z.object({
  SERVICE_NAME: z.string().default('dlq-replay'),
  ...kafkaEnv,
  KEY_EVENTS_SIGNING_KEY: z.string().optional(),
});

/** The dlq:replay command's settings, typed, as validated at start-up. */
export class ReplaySettings extends settingsOf(replayEnv) {}

/**
 * The dlq:replay command's application: the Kafka settings every service reads, and key-service's
 * signing key only when unsigned key events are to be signed on replay.
 */
@Module({
  imports: [
    ConfigModule.forRoot({
      isGlobal: true,
      ignoreEnvFile: true,
      validate: validateEnv(replayEnv),
    }),
    KafkaModule,
  ],
  providers: [DeadLetters, ReplaySettings],
})
export class DeadLettersModule {}
