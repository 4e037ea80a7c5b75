import { loadConfig } from '../config/load.js';
import { DEV_API_KEY, DEV_CONSOLE_PASSWORD } from '../config/dev-defaults.js';
import { describeEndpoints, endpointLines } from '../http/endpoints.js';
import { packageVersion } from '../http/openapi.js';
import { createHeraldServer } from '../server.js';
import { listenFailure } from './start-error.js';

export const serveHelp = `Usage: herald serve [--config FILE]

Starts the gateway. Without --config (or HERALD_CONFIG) it runs with dev defaults: every
authenticated user may subscribe and publish anywhere in their tenant, and a dev JWT secret
and API key are used unless JWT_SECRET and WEBHOOK_TOKEN / API_KEYS are set.

Options:
  --config FILE   YAML or JSON configuration (see README: Configuration)
  -h, --help      show this help

Environment: PORT, HOST, JWT_SECRET, JWT_PUBLIC_KEY, JWKS_URL, WEBHOOK_TOKEN, API_KEYS,
CORS_ORIGIN, REDIS_URL or REDIS_HOST/REDIS_PORT/REDIS_PASSWORD (or REDIS_CLUSTER_NODES, or
REDIS_SENTINELS with REDIS_MASTER_NAME and REDIS_SENTINEL_PASSWORD; REDIS_WAIT_REPLICAS),
LOG_LEVEL, HERALD_CONFIG.`;

export async function serve(options: { config?: string }): Promise<void> {
  const loaded = loadConfig({ file: options.config });
  const server = await createHeraldServer(loaded.config);
  let url: string;
  try {
    url = await server.listen();
  } catch (err) {
    const failure = listenFailure(err, loaded.config.server.host, loaded.config.server.port);
    if (!failure) throw err;
    await server.close().catch(() => undefined);
    throw failure;
  }
  const log = server.node.logger;
  log.info({ url, engine: loaded.config.engine.type, config: loaded.source }, 'herald listening');
  const lines = [`Herald listening on ${url}  (config: ${loaded.source}, engine: ${loaded.config.engine.type}, version ${packageVersion()})`];
  lines.push(...endpointLines(describeEndpoints(loaded.config), url));
  if (loaded.source !== 'dev defaults' && loaded.config.auth.jwt.secret) {
    const tenant = loaded.config.tenants.requireClaim ? ' --tenant acme' : '';
    const secret = loaded.devSecret ? '  (signed with the dev secret)' : process.env.JWT_SECRET ? '  (in a shell with the same JWT_SECRET)' : '';
    lines.push(`  ${'Token'.padEnd(12)}npx herald token --config ${loaded.source} --sub alice${tenant}${secret}`);
  }
  if (loaded.dev) {
    const key = loaded.config.api.keys.find((k) => k.key === DEV_API_KEY) ? DEV_API_KEY : '(from your environment)';
    lines.push(`  Dev mode: not for production (set NODE_ENV=production to refuse dev secrets)`);
    lines.push(`  Dev API key: ${key}`);
    if (loaded.config.console.password === DEV_CONSOLE_PASSWORD) lines.push(`  Console password: ${DEV_CONSOLE_PASSWORD}  (or sign in with: npx herald token --sub admin --roles ${loaded.config.console.adminRole})`);
    lines.push(`  Mint a dev token:  npx herald token --sub alice --ttl 1h`);
    lines.push(`  Publish:           npx herald publish news hello '{"text":"hi"}'`);
  }
  process.stderr.write(lines.join('\n') + '\n');

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    server.close().then(
      () => process.exit(0),
      (err) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
