export * from './herald-fixture.js';
export * from './ws-client.js';
export * from './sse-client.js';
export * from './redis-server.js';
export * from './wait.js';
export * from './upgrade-status.js';
export * from './rss.js';
export * from './redis-topologies.js';
