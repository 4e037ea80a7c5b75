#!/usr/bin/env node
// Bundles the browser entry into one ESM file, dist/herald-client.browser.js, and fails if a
// Node built-in found its way in.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const result = await build({
  entryPoints: [join(root, 'src/index.ts')],
  outfile: join(root, 'dist/herald-client.browser.js'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2022'],
  sourcemap: true,
  metafile: true,
  legalComments: 'none',
  logLevel: 'warning',
});
const nodeInputs = Object.keys(result.metafile.inputs).filter((input) => input.startsWith('node:') || input.includes('outbox-file'));
if (nodeInputs.length > 0) {
  console.error(`the browser bundle must not contain Node code: ${nodeInputs.join(', ')}`);
  process.exit(1);
}
const output = result.metafile.outputs[Object.keys(result.metafile.outputs).find((o) => o.endsWith('.js'))];
console.log(`herald-client.browser.js: ${output.bytes} bytes from ${Object.keys(result.metafile.inputs).length} modules`);
