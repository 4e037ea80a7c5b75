#!/usr/bin/env node
// Bundles the console into dist/public/: index.html, console.js (Preact, uPlot and
// @herald/client inside) and console.css. The gateway serves these files as they are at /console/.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist/public');
mkdirSync(out, { recursive: true });
const result = await build({
  entryPoints: { console: join(root, 'src/main.tsx') },
  outdir: out,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2022'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  minify: true,
  sourcemap: true,
  metafile: true,
  legalComments: 'none',
  logLevel: 'warning',
});
copyFileSync(join(root, 'src/index.html'), join(out, 'index.html'));
const nodeInputs = Object.keys(result.metafile.inputs).filter((input) => input.startsWith('node:'));
if (nodeInputs.length > 0) {
  console.error(`the console bundle must not contain Node code: ${nodeInputs.join(', ')}`);
  process.exit(1);
}
const bytes = Object.entries(result.metafile.outputs)
  .filter(([file]) => !file.endsWith('.map'))
  .map(([file, o]) => `${file.split('/').pop()} ${o.bytes} bytes`);
console.log(`console: ${bytes.join(', ')}`);
