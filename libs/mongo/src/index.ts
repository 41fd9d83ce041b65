export * from './mongo.config';
export * from './mongo.module';
export * from './single-writes';
export * from './write-batches';
