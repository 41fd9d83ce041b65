export * from './key-client.options';
export * from './key-client';
export * from './key-client.module';
export * from './verification-cache';
export * from './key-invalidations';
