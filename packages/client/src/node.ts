// The Node entry: everything the browser entry has, plus what needs Node built-ins.
export * from './index.js';
export { fileOutboxStore } from './outbox-file.js';
