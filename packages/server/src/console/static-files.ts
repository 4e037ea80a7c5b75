import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

export interface StaticFile {
  body: Buffer;
  type: string;
}

/**
 * The built console's files, read once at start and served from memory by name. Hand-written
 * rather than @fastify/static: the console is a handful of files in one flat directory, and that
 * plugin's dependencies (glob, content-disposition) need a newer Node than Herald supports. Only
 * names found here are ever served, so no request path reaches the file system.
 * Undefined when the directory does not exist (the console is not built).
 */
export function readStaticFiles(dir: string): Map<string, StaticFile> | undefined {
  if (!existsSync(dir)) return undefined;
  const files = new Map<string, StaticFile>();
  for (const name of readdirSync(dir)) {
    const type = TYPES[extname(name)];
    const path = join(dir, name);
    if (type && statSync(path).isFile()) files.set(name, { body: readFileSync(path), type });
  }
  return files;
}
