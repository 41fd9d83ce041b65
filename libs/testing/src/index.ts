export * from './stack';
export * from './mailpit';
export * from './service-process';
