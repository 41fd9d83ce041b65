/** The one kafkajs client of a process. */
export const KAFKA_CLIENT = Symbol('KAFKA_CLIENT');
