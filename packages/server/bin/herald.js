#!/usr/bin/env node
// The `herald` command. npm links this committed file when it installs, before the build has
// produced dist/, so `npx herald` works in a fresh clone after `npm ci`; it runs the built CLI.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write(
    `herald: the CLI is not built yet (${fileURLToPath(cli)} is missing).\n` +
      'Build it at the repository root with "npm run build" ("npm ci" and "npm install" build too), then run the command again.\n',
  );
  process.exit(2);
}
await import(cli.href);
