import { Global, Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { TerminusModule } from '@nestjs/terminus';
import { MetricsModule } from '@keyward/metrics';
import { Kafka, logLevel } from 'kafkajs';
import { kafkaConnection } from './kafka.config';
import { kafkaLogCreator } from './kafka-log';
import { KafkaHealthIndicator } from './kafka.health';
import { KafkaMetrics } from './kafka.metrics';
import { KAFKA_CLIENT } from './kafka.tokens';
import { KafkaConsumerFactory } from './kafka-consumer.factory';
import { KafkaProducerService } from './kafka-producer.service';
import { KafkaTopicsService } from './kafka-topics.service';

/** The one place a process configures Kafka: client, topics, producer, health and metrics. */
@Global()
@Module({
  imports: [TerminusModule, MetricsModule],
  providers: [
    {
      provide: KAFKA_CLIENT,
      inject: [ConfigService],
      useFactory: (config: ConfigService) =>
        new Kafka({
          clientId: config.get<string>('KAFKA_CLIENT_ID') ?? config.getOrThrow<string>('SERVICE_NAME'),
          ...kafkaConnection(config),
          logLevel: logLevel.WARN,
          logCreator: kafkaLogCreator,
          retry: { initialRetryTime: 100, retries: 8 },
        }),
    },
    KafkaTopicsService,
    KafkaProducerService,
    KafkaHealthIndicator,
    KafkaConsumerFactory,
    KafkaMetrics,
  ],
  exports: [KAFKA_CLIENT, KafkaTopicsService, KafkaProducerService, KafkaHealthIndicator, KafkaConsumerFactory],
})
export class KafkaModule {}
