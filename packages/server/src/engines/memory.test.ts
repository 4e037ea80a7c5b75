import { runEngineSuite } from './engine.case.js';
import { createMemoryEngine } from './memory.js';

runEngineSuite({
  name: 'memory',
  create: () => createMemoryEngine(),
  // One process: a second engine is a second, separate world.
  shared: false,
  deliversOnlySubscribed: false,
});
