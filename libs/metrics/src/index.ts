export * from './metrics.config';
export * from './metrics.module';
export * from './http-metrics';
export * from './worker-metrics';
