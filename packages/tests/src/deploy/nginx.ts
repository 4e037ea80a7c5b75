import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { freePort, waitFor } from '@herald/server/testing';

/** The nginx binary: `NGINX`, else the first on PATH or in /usr/sbin. */
export const NGINX_BIN = process.env.NGINX ?? [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin'].map((d) => join(d, 'nginx')).find((p) => existsSync(p));

export interface Nginx {
  /** `http://127.0.0.1:PORT` */
  url: string;
  close(): Promise<void>;
}

/**
 * Runs nginx with a configuration file of the repository, as its container would, on this
 * machine: the `server NAME:PORT` lines of its upstream pointed at `upstreams` (in order), its
 * `listen` at a free 127.0.0.1 port, its pid and logs in a directory of its own. `edit` may
 * change the text first (to take a directive out, for a control run).
 */
export async function startNginx(confPath: string, upstreams: string[], edit: (conf: string) => string = (c) => c): Promise<Nginx> {
  if (!NGINX_BIN) throw new Error('nginx not found');
  const dir = mkdtempSync(join(tmpdir(), 'herald-nginx-'));
  mkdirSync(join(dir, 'logs'));
  const port = await freePort('127.0.0.1');
  let next = 0;
  const conf = edit(readFileSync(confPath, 'utf8'))
    .replace(/(server\s+)[\w.-]+:\d+/g, (_m, head: string) => `${head}${upstreams[next++] ?? 'unused.invalid:1'}`)
    .replace(/listen\s+80;/, `listen 127.0.0.1:${port};`);
  if (next !== upstreams.length) throw new Error(`${confPath} has ${next} upstream servers, not ${upstreams.length}`);
  writeFileSync(join(dir, 'nginx.conf'), conf);
  const child: ChildProcess = spawn(NGINX_BIN, ['-p', `${dir}/`, '-c', join(dir, 'nginx.conf'), '-g', `daemon off; pid ${dir}/nginx.pid; error_log ${dir}/logs/error.log warn;`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(async () => {
      if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}: ${stderr}`);
      return fetch(`${url}/health`).then((r) => r.ok, () => false);
    }, 'nginx to answer /health', 10_000);
  } catch (err) {
    await close();
    throw err;
  }
  return { url, close };
}
