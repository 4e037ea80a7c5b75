import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { applyEnv } from './env.js';
import { ConfigError, interpolateEnv } from './interpolate.js';
import { configSchema, type HeraldConfig } from './schema.js';
import { DEV_API_KEY, DEV_CONSOLE_PASSWORD, DEV_JWT_SECRET, devConfig } from './dev-defaults.js';

export interface LoadedConfig {
  config: HeraldConfig;
  /** True when dev defaults filled in the secret or the API key. */
  dev: boolean;
  /** True when the dev JWT secret filled in for a missing key (never in production). */
  devSecret: boolean;
  source: string;
}

function formatIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.join('.') || '(root)';
      if (issue.code === 'unrecognized_keys') return `${path}: unknown key(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
      return `${path}: ${issue.message}`;
    })
    .join('\n  ');
}

function readFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  try {
    return extname(path) === '.json' ? JSON.parse(text) : (parseYaml(text) ?? {});
  } catch (err) {
    throw new ConfigError(`${path} is not valid ${extname(path) === '.json' ? 'JSON' : 'YAML'}: ${(err as Error).message}`);
  }
}

/** Validates a config object; throws ConfigError naming every bad key or value. */
export function parseConfig(raw: unknown, source = 'config'): HeraldConfig {
  const result = configSchema.safeParse(raw);
  if (!result.success) throw new ConfigError(`invalid configuration (${source}):\n  ${formatIssues(result.error)}`);
  const config = result.data;
  const jwt = config.auth.jwt;
  if ([jwt.secret, jwt.publicKey, jwt.jwksUrl].filter(Boolean).length > 1) {
    throw new ConfigError(`invalid configuration (${source}):\n  auth.jwt: set only one of secret, publicKey, jwksUrl`);
  }
  return config;
}

export interface LoadOptions {
  file?: string;
  env?: NodeJS.ProcessEnv;
  /**
   * Read only these top-level sections of the file; the others keep their defaults, and their
   * `${VAR}`s need not be set. `herald token` reads `auth` and `tenants`: minting a token needs
   * the JWT secret, not the API key.
   */
  sections?: readonly (keyof HeraldConfig)[];
}

/**
 * Loads the configuration: the file (YAML or JSON, `${VAR}` interpolated) or, without one, dev
 * defaults; then the environment variables; then validation. Outside production a missing JWT
 * secret and API key are filled with dev values, which `dev` (and `devSecret` for the secret) report.
 */
export function loadConfig(options: LoadOptions = {}): LoadedConfig {
  const env = options.env ?? process.env;
  const file = options.file ?? env.HERALD_CONFIG;
  const production = env.NODE_ENV === 'production';
  let read = file ? readFile(file) : structuredClone(devConfig);
  if (read === null || typeof read !== 'object' || Array.isArray(read)) {
    throw new ConfigError(`${file}: the configuration must be a mapping of keys to values`);
  }
  if (file && options.sections) {
    const wanted = new Set<string>(options.sections);
    read = Object.fromEntries(Object.entries(read).filter(([key]) => wanted.has(key)));
  }
  const base = file ? interpolateEnv(read, env) : read;
  const raw = applyEnv(base as Record<string, unknown>, env);
  let dev = false;
  let devSecret = false;
  const jwt = ((raw.auth ??= {}).jwt ??= {});
  if (!jwt.secret && !jwt.publicKey && !jwt.jwksUrl) {
    if (production) throw new ConfigError('no JWT key: set JWT_SECRET (or auth.jwt.secret, publicKey or jwksUrl)');
    jwt.secret = DEV_JWT_SECRET;
    dev = true;
    devSecret = true;
  }
  const api = (raw.api ??= {});
  if (!api.keys || api.keys.length === 0) {
    if (!production) {
      api.keys = [{ key: DEV_API_KEY, name: 'dev' }];
      dev = true;
    }
  }
  // Dev mode (no file, not production) opens the console with a known password; production keeps it off unless configured.
  if (!file && !production) raw.console = { enabled: true, password: DEV_CONSOLE_PASSWORD, ...(raw.console ?? {}) };
  return { config: parseConfig(raw, file ?? 'dev defaults'), dev, devSecret, source: file ?? 'dev defaults' };
}
