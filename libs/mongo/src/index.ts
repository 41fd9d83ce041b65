export * from './mongo.config';
export * from './mongo.module';
export * from './write-batches';
