import ms from 'ms';
import { signToken } from '../auth/authenticator.js';
import { loadConfig } from '../config/load.js';

export const tokenHelp = `Usage: herald token --sub ID [--tenant T] [--roles A,B] [--name NAME] [--channels a,b] [--ttl 1h] [--config FILE]

Prints a JWT signed with the configured secret (JWT_SECRET, the config file's auth.jwt.secret,
or the dev secret outside production). Claims are placed where the configured claims mapping
reads them.

Options:
  --sub ID          user id (required)
  --tenant T        tenant
  --roles A,B       roles, comma-separated
  --name NAME       display name (presence info)
  --channels a,b    channels the token itself grants
  --ttl DURATION    lifetime, e.g. 30m, 1h, 7d (default 1h)
  --config FILE     configuration to read the secret and claims mapping from
  -h, --help        show this help`;

export async function token(options: { sub?: string; tenant?: string; roles?: string; name?: string; channels?: string; ttl?: string; config?: string }): Promise<void> {
  if (!options.sub) throw new UsageError('--sub is required\n\n' + tokenHelp);
  const ttl = ms((options.ttl ?? '1h') as ms.StringValue);
  if (typeof ttl !== 'number' || !(ttl > 0)) throw new UsageError(`--ttl: "${options.ttl}" is not a duration (try 30m, 1h, 7d)`);
  const { config } = loadConfig({ file: options.config });
  const list = (v?: string) => (v ? v.split(',').map((s) => s.trim()).filter(Boolean) : undefined);
  const jwt = await signToken(
    config,
    {
      sub: options.sub,
      ...(options.tenant ? { tenant: options.tenant } : {}),
      ...(options.roles ? { roles: list(options.roles) } : {}),
      ...(options.name ? { name: options.name } : {}),
      ...(options.channels ? { channels: list(options.channels) } : {}),
    },
    Math.round(ttl / 1000),
  );
  process.stdout.write(jwt + '\n');
}

export class UsageError extends Error {
  override name = 'UsageError';
}
