// The HTTP publish API the peers share, shaped like Herald's so that one publisher drives all:
// POST /publish {channel, event, data} and POST /publish/batch {publications: [...]}.
import type { IncomingMessage, ServerResponse } from 'node:http';

export type Deliver = (channel: string, event: string, data: unknown) => void;

interface Publication {
  channel: string;
  event: string;
  data?: unknown;
}

export interface Answer {
  status: number;
  body: unknown;
}

function isPublication(value: unknown): value is Publication {
  const p = value as Publication;
  return typeof p === 'object' && p !== null && typeof p.channel === 'string' && typeof p.event === 'string';
}

/**
 * The publish API without a server around it, so that node:http and uWebSockets.js peers answer
 * alike: `route` tells whether a method and URL are served, `answer` runs one request's body.
 */
export class PublishApi {
  private offset = 0;

  constructor(private readonly deliver: Deliver) {}

  route(method: string, url: string): 'health' | 'publish' | 'batch' | null {
    if (method === 'GET' && url === '/health') return 'health';
    if (method !== 'POST') return null;
    return url === '/publish' ? 'publish' : url === '/publish/batch' ? 'batch' : null;
  }

  answer(route: 'publish' | 'batch', raw: Buffer): Answer {
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      return { status: 400, body: { error: 'body is not JSON' } };
    }
    if (route === 'publish') {
      if (!isPublication(body)) return { status: 400, body: { error: 'channel and event are required' } };
      this.deliver(body.channel, body.event, body.data);
      return { status: 200, body: { id: String(++this.offset), offset: this.offset } };
    }
    const list = (body as { publications?: unknown }).publications;
    if (!Array.isArray(list) || !list.every(isPublication)) return { status: 400, body: { error: 'publications must be a list of {channel, event, data}' } };
    for (const p of list) this.deliver(p.channel, p.event, p.data);
    this.offset += list.length;
    return { status: 200, body: { count: list.length, offset: this.offset } };
  }
}

function reply(res: ServerResponse, { status, body }: Answer): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** An HTTP request listener serving the publish API (and GET /health) on top of `deliver`. */
export function publishApi(deliver: Deliver): (req: IncomingMessage, res: ServerResponse) => void {
  const api = new PublishApi(deliver);
  return (req, res) => {
    const route = api.route(req.method ?? '', req.url ?? '');
    if (route === 'health') return reply(res, { status: 200, body: { status: 'ok' } });
    if (!route) return reply(res, { status: 404, body: { error: 'not found' } });
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => reply(res, api.answer(route, Buffer.concat(chunks))));
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
