// The HTTP publish API the peers share, shaped like Herald's so that one publisher drives all:
// POST /publish {channel, event, data} and POST /publish/batch {publications: [...]}.
import type { IncomingMessage, ServerResponse } from 'node:http';

export type Deliver = (channel: string, event: string, data: unknown) => void;

interface Publication {
  channel: string;
  event: string;
  data?: unknown;
}

function isPublication(value: unknown): value is Publication {
  const p = value as Publication;
  return typeof p === 'object' && p !== null && typeof p.channel === 'string' && typeof p.event === 'string';
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** An HTTP request listener serving the publish API (and GET /health) on top of `deliver`. */
export function publishApi(deliver: Deliver): (req: IncomingMessage, res: ServerResponse) => void {
  let offset = 0;
  return (req, res) => {
    if (req.method === 'GET' && req.url === '/health') return reply(res, 200, { status: 'ok' });
    if (req.method !== 'POST' || (req.url !== '/publish' && req.url !== '/publish/batch')) return reply(res, 404, { error: 'not found' });
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return reply(res, 400, { error: 'body is not JSON' });
      }
      if (req.url === '/publish') {
        if (!isPublication(body)) return reply(res, 400, { error: 'channel and event are required' });
        deliver(body.channel, body.event, body.data);
        return reply(res, 200, { id: String(++offset), offset });
      }
      const list = (body as { publications?: unknown }).publications;
      if (!Array.isArray(list) || !list.every(isPublication)) return reply(res, 400, { error: 'publications must be a list of {channel, event, data}' });
      for (const p of list) deliver(p.channel, p.event, p.data);
      offset += list.length;
      reply(res, 200, { count: list.length, offset });
    });
  };
}

/** The port from PORT or `--port N` (0 picks a free one). */
export function portFromEnv(): number {
  const flag = process.argv.indexOf('--port');
  return Number(flag > 0 ? process.argv[flag + 1] : process.env.PORT ?? 0);
}

/** Exits when the parent that started us goes away, and on SIGTERM / SIGINT. */
export function exitWithParent(close: () => void): void {
  const quit = () => {
    close();
    process.exit(0);
  };
  process.on('SIGTERM', quit);
  process.on('SIGINT', quit);
  if (process.send) process.on('disconnect', quit);
}
