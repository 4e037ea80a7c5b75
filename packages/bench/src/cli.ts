#!/usr/bin/env node
// `npm run bench [-- options]`: Herald side by side with plain socket.io and a raw-WebSocket
// reference, same workloads, same run; prints a table and writes bench/results/latest.json.
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { installCleanup, pinSelf, pinningEnabled, setPinning, stopAll } from './processes.js';
import { addRatios, table, writeJson } from './report.js';
import { runSuite } from './suite.js';
import { GENERATOR_CORE } from './target.js';
import { allTargets } from './targets/index.js';
import { workloads as allWorkloads } from './workloads.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

const HELP = `Usage: npm run bench -- [options]

  --quick              fewer and shorter steps (finishes within 4 minutes)
  --large              capacity with 50,000 idle connections instead of 10,000
  --targets A,B        only these targets (${allTargets.map((t) => t.name).join(', ')})
  --workloads A,B      only these workloads (${allWorkloads({ quick: false, large: false }).map((w) => w.name).join(', ')})
  --seconds N          length of each measured step
  --out FILE           where to write the JSON (default bench/results/latest.json)
  --cpu-prof           write V8 CPU profiles of the servers to bench/results/profiles/
  --wait-quiet N       before each workload, wait up to N seconds for the machine to be idle
  --no-pin             do not pin the server and the generator to separate cores
  --help

The servers run pinned to core 0 and the load generator to core 1 (taskset).`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      large: { type: 'boolean', default: false },
      targets: { type: 'string' },
      workloads: { type: 'string' },
      seconds: { type: 'string' },
      out: { type: 'string', default: 'bench/results/latest.json' },
      'cpu-prof': { type: 'boolean', default: false },
      'wait-quiet': { type: 'string' },
      'no-pin': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const seconds = values.seconds === undefined ? undefined : Number(values.seconds);
  if (seconds !== undefined && !(seconds > 0)) throw new Error('--seconds must be a positive number');
  const pick = <T extends { name: string }>(all: T[], list: string | undefined, what: string): T[] => {
    if (!list) return all;
    const names = list.split(',').map((s) => s.trim()).filter(Boolean);
    const unknown = names.filter((n) => !all.some((x) => x.name === n));
    if (unknown.length > 0) throw new Error(`unknown ${what}: ${unknown.join(', ')} (known: ${all.map((x) => x.name).join(', ')})`);
    return all.filter((x) => names.includes(x.name));
  };
  const targets = pick(allTargets, values.targets, 'target');
  const workloads = pick(allWorkloads({ quick: values.quick, large: values.large, seconds }), values.workloads, 'workload');

  installCleanup();
  setPinning(!values['no-pin']);
  // The publisher runs in this process: keep it on the generator's core, off the server's.
  pinSelf(GENERATOR_CORE);
  if (!pinningEnabled()) console.error('note: not pinning processes to cores (needs taskset and 2 CPUs, or --no-pin was given)');

  const cpuProfileDir = values['cpu-prof'] ? resolve(ROOT, 'bench/results/profiles') : undefined;
  if (cpuProfileDir) mkdirSync(cpuProfileDir, { recursive: true });
  const started = Date.now();
  const waitQuietSeconds = values['wait-quiet'] === undefined ? 0 : Number(values['wait-quiet']);
  if (!(waitQuietSeconds >= 0)) throw new Error('--wait-quiet must be a number of seconds');
  const results = await runSuite(targets, workloads, { cpuProfileDir, waitQuietSeconds, quick: values.quick, askedFor: values.targets !== undefined, log: (line) => console.error(line) });
  const peers = targets.filter((t) => t.peer).map((t) => t.name);
  addRatios(results, peers);
  console.log(table(results, peers));
  const out = resolve(ROOT, values.out);
  writeJson(out, results, { quick: values.quick, large: values.large, pinned: pinningEnabled(), seconds: workloads[0]?.seconds ?? 0 });
  console.error(`\nwrote ${out} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
  return 0;
}

main()
  .catch((err: Error) => {
    console.error(`bench: ${err.message}`);
    return 1;
  })
  .then(async (code) => {
    await stopAll();
    process.exit(code);
  });
