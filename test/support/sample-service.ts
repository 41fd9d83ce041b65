import { INestApplicationContext, Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import { KafkaModule, kafkaEnv } from '@keyward/kafka';
import { KeyClientModule } from '@keyward/key-client';
import { z } from 'zod';

/**
 * A sample internal service: a Nest app in the test process that verifies keys through
 * libs/key-client with the given credentials. The timeout is generous by default: tests assert
 * answers, not latency, on a machine shared by many runs.
 */
export async function startSampleService(
  env: Record<string, string>,
  credentials: string,
  timeoutMs = 20_000,
): Promise<INestApplicationContext> {
  const config = z.object({ ...kafkaEnv, SERVICE_NAME: z.string() }).parse({ ...env, SERVICE_NAME: 'sample-service' });
  @Module({
    imports: [
      ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, validate: () => config }),
      KafkaModule,
      KeyClientModule.register({ credentials, clientName: 'sample-service', timeoutMs }),
    ],
  })
  class SampleServiceModule {}
  return NestFactory.createApplicationContext(SampleServiceModule, { logger: ['error', 'warn'] });
}
