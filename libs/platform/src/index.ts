export * from './config';
export * from './logging.module';
export * from './bootstrap';
export * from './health/health.module';
export * from './http/problem-details.filter';
export * from './http/validation';
export * from './clock';
export * from './http/route-body';
