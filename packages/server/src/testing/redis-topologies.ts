export * from './redis-cluster.js';
export * from './redis-sentinel.js';
export * from './describe-with-cluster.js';
