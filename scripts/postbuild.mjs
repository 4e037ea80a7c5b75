#!/usr/bin/env node
// Steps tsc cannot do: the CLI must be executable for `npx herald`.
import { chmodSync, existsSync } from 'node:fs';

const cli = 'packages/server/dist/cli.js';
if (existsSync(cli)) chmodSync(cli, 0o755);
