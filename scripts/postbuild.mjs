#!/usr/bin/env node
// Steps tsc cannot do: dist/cli.js executable, to be run directly (`npx herald` goes through the
// committed packages/server/bin/herald.js, which npm links before this build exists).
import { chmodSync, existsSync } from 'node:fs';

const cli = 'packages/server/dist/cli.js';
if (existsSync(cli)) chmodSync(cli, 0o755);
