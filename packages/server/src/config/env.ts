import { ConfigError } from './interpolate.js';

type Json = Record<string, any>;

function set(target: Json, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) node = node[key] ??= {};
  node[path[path.length - 1]] = value;
}

function list(value: string): string[] {
  return value.split(',').map((s) => s.trim()).filter(Boolean);
}

function port(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new ConfigError(`${name}: "${value}" is not a port number`);
  return n;
}

function count(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new ConfigError(`${name}: "${value}" is not a whole number`);
  return n;
}

/**
 * The environment variables the seeds use, applied over the file's values. Unset or empty
 * variables change nothing.
 */
export function applyEnv(config: Json, env: NodeJS.ProcessEnv): Json {
  const out = structuredClone(config);
  const get = (name: string) => (env[name] === undefined || env[name] === '' ? undefined : env[name]);
  let v: string | undefined;
  if ((v = get('PORT'))) set(out, ['server', 'port'], port('PORT', v));
  if ((v = get('HOST'))) set(out, ['server', 'host'], v);
  if ((v = get('CORS_ORIGIN'))) set(out, ['server', 'corsOrigins'], v === '*' ? [] : list(v));
  if ((v = get('JWT_SECRET'))) set(out, ['auth', 'jwt', 'secret'], v);
  if ((v = get('JWT_PUBLIC_KEY'))) set(out, ['auth', 'jwt', 'publicKey'], v.replace(/\\n/g, '\n'));
  if ((v = get('JWKS_URL'))) set(out, ['auth', 'jwt', 'jwksUrl'], v);
  if ((v = get('JWT_ISSUER'))) set(out, ['auth', 'jwt', 'issuer'], v);
  if ((v = get('JWT_AUDIENCE'))) set(out, ['auth', 'jwt', 'audience'], v);
  const keys: Json[] = [...(out.api?.keys ?? [])];
  if ((v = get('WEBHOOK_TOKEN'))) keys.push({ key: v, name: 'WEBHOOK_TOKEN' });
  if ((v = get('API_KEYS'))) for (const key of list(v)) keys.push({ key, name: 'API_KEYS' });
  if (keys.length > 0) set(out, ['api', 'keys'], keys);
  if ((v = get('REDIS_URL'))) set(out, ['engine', 'redis', 'url'], v);
  if ((v = get('REDIS_HOST'))) set(out, ['engine', 'redis', 'host'], v);
  if ((v = get('REDIS_PORT'))) set(out, ['engine', 'redis', 'port'], port('REDIS_PORT', v));
  if ((v = get('REDIS_PASSWORD'))) set(out, ['engine', 'redis', 'password'], v);
  if ((v = get('REDIS_CLUSTER_NODES'))) set(out, ['engine', 'redis', 'cluster'], list(v));
  if ((v = get('REDIS_SENTINELS'))) set(out, ['engine', 'redis', 'sentinels'], list(v));
  if ((v = get('REDIS_MASTER_NAME'))) set(out, ['engine', 'redis', 'masterName'], v);
  if ((v = get('REDIS_SENTINEL_PASSWORD'))) set(out, ['engine', 'redis', 'sentinelPassword'], v);
  if ((v = get('REDIS_WAIT_REPLICAS'))) set(out, ['engine', 'redis', 'waitReplicas'], count('REDIS_WAIT_REPLICAS', v));
  if (['REDIS_URL', 'REDIS_HOST', 'REDIS_CLUSTER_NODES', 'REDIS_SENTINELS'].some((name) => get(name))) set(out, ['engine', 'type'], out.engine?.type ?? 'redis');
  if ((v = get('HERALD_ENGINE'))) set(out, ['engine', 'type'], v);
  if ((v = get('LOG_LEVEL'))) set(out, ['log', 'level'], v);
  return out;
}
