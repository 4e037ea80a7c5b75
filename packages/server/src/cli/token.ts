import ms from 'ms';
import { signToken } from '../auth/authenticator.js';
import { ConfigError } from '../config/interpolate.js';
import { loadConfig } from '../config/load.js';
import { UsageError } from './usage-error.js';

export { UsageError };

export const tokenHelp = `Usage: herald token --sub ID [--tenant T] [--roles A,B] [--name NAME] [--channels a,b]
                    [--claim PATH=VALUE ...] [--ttl 1h] [--config FILE]

Prints a JWT that the gateway started with the same configuration accepts. It is signed with
the configuration's secret (JWT_SECRET, or the file's auth.jwt.secret); with no secret there
(and outside production) with the dev secret, as "herald serve" then uses too, and says so.
Each value goes into the claim the configuration's auth.claims names: with --config
examples/rental-dashboard/herald.yaml, --tenant writes "tenantId" and --roles writes "role".
Only the auth and tenants sections are read: the API key (WEBHOOK_TOKEN) is not needed.

Options:
  --sub ID            user id (required), written to auth.claims.userId (default "sub")
  --tenant T          tenant, written to auth.claims.tenant (default "tenant")
  --roles A,B         roles, comma-separated, written to auth.claims.roles (default "roles")
  --name NAME         display name, written to the auth.claims.info claim ending in "name"
  --channels a,b      channels the token itself grants, written to auth.claims.channels
  --claim PATH=VALUE  any other claim (repeatable); VALUE is parsed as JSON when it is JSON
  --ttl DURATION      lifetime, e.g. 30m, 1h, 7d (default 1h)
  --config FILE       configuration to read the secret and claim names from (or HERALD_CONFIG)
  -h, --help          show this help`;

export interface TokenOptions {
  sub?: string;
  tenant?: string;
  roles?: string;
  name?: string;
  channels?: string;
  claim?: string[];
  ttl?: string;
  config?: string;
}

function parseClaim(spec: string): [string, unknown] {
  const eq = spec.indexOf('=');
  if (eq <= 0) throw new UsageError(`--claim: "${spec}" is not PATH=VALUE (e.g. --claim email=a@example.com)`);
  const text = spec.slice(eq + 1);
  try {
    return [spec.slice(0, eq), JSON.parse(text)];
  } catch {
    return [spec.slice(0, eq), text];
  }
}

export async function token(options: TokenOptions): Promise<void> {
  if (!options.sub) throw new UsageError('--sub is required\n\n' + tokenHelp);
  const ttl = ms((options.ttl ?? '1h') as ms.StringValue);
  if (typeof ttl !== 'number' || !(ttl > 0)) throw new UsageError(`--ttl: "${options.ttl}" is not a duration (try 30m, 1h, 7d)`);
  const extra = Object.fromEntries((options.claim ?? []).map(parseClaim));

  let loaded;
  try {
    loaded = loadConfig({ file: options.config, sections: ['auth', 'tenants'] });
  } catch (err) {
    if (err instanceof ConfigError && /^auth\.jwt\.\w+: environment variable/.test(err.message)) {
      throw new ConfigError(`${err.message}. Set it to the value "herald serve" runs with: the gateway accepts only tokens signed with its own secret`);
    }
    throw err;
  }
  const { config, source } = loaded;
  if (!config.auth.jwt.secret) {
    throw new UsageError(`${source} verifies tokens with a ${config.auth.jwt.publicKey ? 'public key' : 'JWKS URL'}: tokens for it are signed by your identity provider, not by herald token`);
  }
  const claims = config.auth.claims;
  const notes: string[] = [];
  if (loaded.devSecret) notes.push('signed with the dev JWT secret, which "herald serve" uses too when no secret is configured; set JWT_SECRET for anything else');
  if (config.tenants.requireClaim && !options.tenant) notes.push(`${source} refuses tokens without a tenant claim (${claims.tenant}): pass --tenant`);

  const list = (v?: string) => (v ? v.split(',').map((s) => s.trim()).filter(Boolean) : undefined);
  // The display name goes where presence reads it: the info claim named ...name, else the first info claim.
  const nameClaim = claims.info.find((path) => path.split('.').pop() === 'name') ?? claims.info[0] ?? 'name';
  const jwt = await signToken(
    config,
    {
      ...extra,
      sub: options.sub,
      ...(options.tenant ? { tenant: options.tenant } : {}),
      ...(options.roles ? { roles: list(options.roles) } : {}),
      ...(options.name ? { [nameClaim]: options.name } : {}),
      ...(options.channels ? { channels: list(options.channels) } : {}),
    },
    Math.round(ttl / 1000),
  );
  for (const note of notes) process.stderr.write(`herald token: ${note}\n`);
  process.stdout.write(jwt + '\n');
}
