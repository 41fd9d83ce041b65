export * from './mongo.config';
export * from './mongo.module';
