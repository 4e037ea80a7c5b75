export * from './publication.js';
export * from './codes.js';
export * from './frames.js';
export * from './codec.js';
export * from './limits.js';
export * from './data.js';
