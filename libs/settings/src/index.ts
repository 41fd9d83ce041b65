export * from './settings';
export * from './setting-docs';
