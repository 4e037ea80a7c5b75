import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Files to serve: a path and either inline text or a file on disk. */
export type StaticFiles = Record<string, { text: string } | { file: string }>;

const TYPES: Record<string, string> = { html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8', map: 'application/json' };

/**
 * A tiny HTTP server for browser tests: a fixed set of pages and scripts on one origin.
 * Start several to get several origins.
 */
export async function startStaticServer(files: StaticFiles): Promise<{ origin: string; close(): Promise<void>; [Symbol.asyncDispose](): Promise<void> }> {
  const server: Server = createServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const entry = files[path];
    if (!entry) {
      res.writeHead(404).end('not found');
      return;
    }
    const body = 'text' in entry ? entry.text : await readFile(entry.file);
    res.writeHead(200, { 'content-type': TYPES[path.split('.').pop() ?? ''] ?? 'application/octet-stream', 'cache-control': 'no-store' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return { origin, close, [Symbol.asyncDispose]: close };
}
