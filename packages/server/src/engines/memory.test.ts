import { input, runEngineSuite } from './engine.case.js';
import { createMemoryEngine } from './memory.js';

runEngineSuite({
  name: 'memory',
  create: () => createMemoryEngine(),
  // One process: a second engine is a second, separate world.
  shared: false,
  deliversOnlySubscribed: false,
  // The memory engine keeps the data it was given: changed afterwards into a cycle, it cannot be encoded.
  async plantUnreadable(engine, key) {
    const data: unknown[] = [];
    const { publication } = await engine.broker.publish(key, input(key, 'changed', data), { history: { size: 100, ttlMs: 60_000, metaTtlMs: 3_600_000 } });
    data.push(data);
    return publication.offset;
  },
});
