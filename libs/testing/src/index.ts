export * from './stack';
export * from './mailpit';
export * from './service-process';
export * from './key-events-tap';
export * from './mongo-dump';
export * from './compose';
export * from './github-secret-scanning';
export * from './kafka-cluster';
