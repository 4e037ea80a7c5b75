import { pino } from 'pino';
import { signToken, type TokenClaims } from '../auth/authenticator.js';
import { parseConfig } from '../config/load.js';
import type { HeraldConfig, HeraldConfigInput } from '../config/schema.js';
import type { Engine } from '../engine.js';
import type { Logger } from '../logger.js';
import { createHeraldServer, engineFor, type HeraldServer } from '../server.js';
import { jsonRequest } from './json-request.js';

export const TEST_SECRET = 'test-secret-0123456789';
export const TEST_API_KEY = 'test-api-key-0123456789';

export interface HeraldFixture {
  server: HeraldServer;
  /** The node's engine, for tests that plant state or publish as another node would. */
  engine: Engine;
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** `ws://127.0.0.1:PORT` */
  wsUrl: string;
  apiKey: string;
  /** Signs a token for this server's secret. */
  token(claims: TokenClaims, ttlSeconds?: number): Promise<string>;
  /** POSTs JSON to the HTTP API with the API key; returns status and parsed body. */
  api(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * The configuration tests run with: `config` merged over a permissive base (the test secret and
 * API key, all channels allowed, history and presence on, silent logs).
 */
export function testConfig(config: HeraldConfigInput = {}): HeraldConfig {
  const base: HeraldConfigInput = {
    server: { port: 0, host: '127.0.0.1', shutdownTimeout: 2000 },
    auth: { jwt: { secret: TEST_SECRET } },
    api: { keys: [{ key: TEST_API_KEY, name: 'test' }] },
    channels: {
      rules: [{ pattern: '*', subscribe: 'all', publish: 'all', history: { size: 100, ttl: '5m' }, presence: true, joinLeave: true }],
    },
    log: { level: 'silent' },
  };
  return parseConfig(deepMerge(base, config), 'test');
}

/**
 * Starts a real Herald node on a free port for a test, with a known secret and API key.
 * `config` is merged over a permissive base (all channels allowed, history and presence on).
 *
 * @example
 * await using herald = await startHerald({ limits: { connectionsPerUser: 2 } });
 */
export async function startHerald(config: HeraldConfigInput = {}, options: { engine?: Engine; logger?: Logger } = {}): Promise<HeraldFixture> {
  const final = testConfig(config);
  const logger = options.logger ?? pino({ level: 'silent' });
  const engine = options.engine ?? (await engineFor(final, logger));
  const server = await createHeraldServer(final, { logger, engine });
  const url = await server.listen();
  const fixture: HeraldFixture = {
    server,
    engine,
    url,
    wsUrl: url.replace(/^http/, 'ws'),
    apiKey: TEST_API_KEY,
    token: (claims, ttl = 3600) => signToken(final, claims, ttl),
    async api(method, path, body, headers = {}) {
      const { status, body: answer } = await jsonRequest(url, method, path, body, { authorization: `Bearer ${TEST_API_KEY}`, ...headers });
      return { status, body: answer };
    },
    close: () => server.close(),
    [Symbol.asyncDispose]: () => server.close(),
  };
  return fixture;
}

function deepMerge(a: any, b: any): any {
  if (Array.isArray(b) || b === null || typeof b !== 'object') return b;
  const out = { ...(a ?? {}) };
  for (const [k, v] of Object.entries(b)) out[k] = k in out && typeof out[k] === 'object' && !Array.isArray(out[k]) ? deepMerge(out[k], v) : v;
  return out;
}
