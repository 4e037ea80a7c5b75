import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type LoadedConfig } from '@herald/server';

export interface EnvLoad {
  loaded: LoadedConfig;
  /** Every environment variable the configuration loader looked at. */
  read: Set<string>;
}

/**
 * Loads Herald's configuration the way `herald serve` does in a container with `env`, and
 * records which variables it read. `files` maps the container's paths (HERALD_CONFIG) to file
 * contents, which are written to a temporary directory and the path rewritten to them.
 */
export function loadWithEnv(env: Record<string, string>, files: Record<string, string> = {}): EnvLoad {
  const dir = mkdtempSync(join(tmpdir(), 'herald-env-'));
  try {
    const local = { ...env };
    if (env.HERALD_CONFIG && files[env.HERALD_CONFIG] !== undefined) {
      local.HERALD_CONFIG = join(dir, 'herald.yaml');
      writeFileSync(local.HERALD_CONFIG, files[env.HERALD_CONFIG]!);
    }
    const read = new Set<string>();
    const watched = new Proxy(local, {
      get(target, name) {
        if (typeof name === 'string') read.add(name);
        return target[name as string];
      },
    });
    return { loaded: loadConfig({ env: watched }), read };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
