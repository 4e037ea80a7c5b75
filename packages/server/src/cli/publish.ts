import { loadConfig } from '../config/load.js';
import { UsageError } from './usage-error.js';

export const publishHelp = `Usage: herald publish CHANNEL EVENT [JSON] [--url URL] [--key KEY] [--tenant T] [--config FILE]

Publishes through the HTTP API (POST /api/v1/publish) and prints the answer.

Options:
  --url URL       gateway base URL (default http://127.0.0.1:$PORT, PORT from the config or 5009)
  --key KEY       API key (default: the first configured key, e.g. WEBHOOK_TOKEN or the dev key)
  --tenant T      tenant to publish in
  --config FILE   configuration to read the port and API key from
  -h, --help      show this help`;

export async function publish(positionals: string[], options: { url?: string; key?: string; tenant?: string; config?: string }): Promise<void> {
  const [channel, event, json] = positionals;
  if (!channel || !event) throw new UsageError('CHANNEL and EVENT are required\n\n' + publishHelp);
  let data: unknown = null;
  if (json !== undefined) {
    try {
      data = JSON.parse(json);
    } catch {
      throw new UsageError(`JSON: ${JSON.stringify(json)} is not valid JSON`);
    }
  }
  let key = options.key;
  let url = options.url;
  if (!key || !url) {
    const { config } = loadConfig({ file: options.config });
    key ??= config.api.keys[0]?.key;
    url ??= `http://127.0.0.1:${config.server.port}`;
  }
  if (!key) throw new UsageError('no API key: pass --key or set WEBHOOK_TOKEN / API_KEYS');
  const response = await fetch(new URL('/api/v1/publish', url), {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ channel, event, data, ...(options.tenant ? { tenant: options.tenant } : {}) }),
  }).catch((err: Error) => {
    throw new UsageError(`cannot reach ${url}: ${(err.cause as Error | undefined)?.message ?? err.message}`);
  });
  const text = await response.text();
  process.stdout.write(text + '\n');
  if (!response.ok) process.exitCode = 1;
}
