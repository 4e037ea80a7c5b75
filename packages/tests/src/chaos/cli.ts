#!/usr/bin/env node
// `npm run chaos [-- --quick | --ci] [--seed N] [--out FILE]`: the chaos run (docs/reliability.md).
import { writeFileSync } from 'node:fs';
import { redisServerAvailable, REDIS_SERVER_BIN } from '@herald/server/testing';
import { runChaos, type ChaosOptions } from './run.js';

function parseArgs(argv: string[]): { size: ChaosOptions['size']; seed?: number; out?: string; dump?: string; sabotage: boolean } {
  let size: ChaosOptions['size'] = 'full';
  let seed: number | undefined;
  let out: string | undefined;
  let dump: string | undefined;
  let sabotage = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--quick') size = 'quick';
    else if (arg === '--ci') size = 'ci';
    else if (arg === '--full') size = 'full';
    else if (arg === '--seed') seed = Number(argv[++i]);
    else if (arg === '--out') out = argv[++i];
    else if (arg === '--dump') dump = argv[++i];
    else if (arg === '--sabotage') sabotage = true;
    else if (arg === '--help' || arg === '-h') {
      console.log('usage: npm run chaos [-- --quick | --ci | --full] [--seed N] [--out report.md] [--dump ledger.json] [--sabotage]\n  --sabotage: raw WebSocket clients resubscribe without since, so the run must fail for them (a check of the run itself)');
      process.exit(0);
    } else {
      console.error(`unknown argument ${arg}`);
      process.exit(2);
    }
  }
  if (seed !== undefined && !Number.isInteger(seed)) {
    console.error('--seed takes an integer');
    process.exit(2);
  }
  return { size, sabotage, ...(seed !== undefined ? { seed } : {}), ...(out ? { out } : {}), ...(dump ? { dump } : {}) };
}

const args = parseArgs(process.argv.slice(2));
if (!redisServerAvailable()) {
  console.error(`redis-server not found at ${REDIS_SERVER_BIN}: install it or set REDIS_SERVER`);
  process.exit(2);
}
try {
  const result = await runChaos({ size: args.size, ...(args.seed !== undefined ? { seed: args.seed } : {}), ...(args.dump ? { dump: args.dump } : {}), sabotage: args.sabotage, log: (line) => console.error(line) });
  console.log(result.text);
  if (args.out) writeFileSync(args.out, result.text);
  console.error(result.verdict.ok ? `chaos: PASS (seed ${result.seed})` : `chaos: FAIL (seed ${result.seed}; run again with --seed ${result.seed} for the same plan)`);
  process.exit(result.verdict.ok ? 0 : 1);
} catch (err) {
  console.error('chaos run could not complete:', err);
  process.exit(2);
}
