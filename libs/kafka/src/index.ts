export * from './kafka.config';
export * from './kafka.tokens';
export * from './kafka.module';
export * from './kafka.health';
export * from './kafka-producer.service';
export * from './kafka-topics.service';
export * from './kafka-consumer.factory';
export * from './kafka-log';
