import { Global, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { MetricsModule } from '@keyward/metrics';
import { Kafka, logLevel } from 'kafkajs';
import { kafkaConnection, KafkaSettings } from './kafka.config';
import { ConsumerSupervisor } from './consumer-supervisor';
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
      inject: [KafkaSettings],
      useFactory: (settings: KafkaSettings) =>
        new Kafka({
          clientId: settings.KAFKA_CLIENT_ID ?? settings.SERVICE_NAME,
          ...kafkaConnection(settings),
          logLevel: logLevel.WARN,
          logCreator: kafkaLogCreator,
          retry: { initialRetryTime: 100, retries: 8 },
        }),
    },
    KafkaSettings,
    KafkaTopicsService,
    KafkaProducerService,
    KafkaHealthIndicator,
    KafkaConsumerFactory,
    ConsumerSupervisor,
    KafkaMetrics,
  ],
  exports: [
    KAFKA_CLIENT,
    KafkaSettings,
    KafkaTopicsService,
    KafkaProducerService,
    KafkaHealthIndicator,
    KafkaConsumerFactory,
    ConsumerSupervisor,
  ],
})
export class KafkaModule {}
