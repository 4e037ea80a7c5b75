// Loads uWebSockets.js's native binary for this platform and Node ABI. The package's own entry
// falls back to a JavaScript imitation on top of `ws` when the binary does not load; measuring
// that as "uws" would be wrong, so the binary is required directly and its failure reported.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const PACKAGE = '@trufflesuite/uws-js-unofficial';
const require = createRequire(import.meta.url);

export type Uws = typeof import('@trufflesuite/uws-js-unofficial');

/** The binary's module, or why it cannot be had here. */
export function loadUws(): { uws: Uws } | { reason: string } {
  let dir: string;
  try {
    dir = dirname(require.resolve(`${PACKAGE}/package.json`));
  } catch {
    return { reason: `${PACKAGE} is not installed` };
  }
  const file = join(dir, 'binaries', `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`);
  try {
    return { uws: require(file) as Uws };
  } catch (err) {
    return { reason: `${PACKAGE} has no binary that loads on ${process.platform} ${process.arch} Node ${process.version}: ${(err as Error).message.split('\n')[0]}` };
  }
}
