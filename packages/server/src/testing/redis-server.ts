import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/** The binary tests run: `REDIS_SERVER`, else /usr/bin/redis-server, else the first on PATH. */
export const REDIS_SERVER_BIN = process.env.REDIS_SERVER ?? findOnPath('redis-server') ?? '/usr/bin/redis-server';

/** Whether `REDIS_SERVER_BIN` exists; Redis tests skip (or fail, in CI) without it. */
export function redisServerAvailable(): boolean {
  return existsSync(REDIS_SERVER_BIN);
}

function findOnPath(name: string): string | undefined {
  if (existsSync(`/usr/bin/${name}`)) return `/usr/bin/${name}`;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

export interface RedisServerOptions {
  /**
   * Keep data across `restart()` (append-only file, fsync always) to test a restart that keeps
   * the data but not the server's identity. Default false: `--save '' --appendonly no`.
   */
  persistent?: boolean;
  /** More command-line arguments, after Herald's own (a later one wins): `['--replicaof', host, port]`. */
  args?: string[] | ((port: number) => string[]);
  /** A configuration file's text, written to the data directory and passed first (a sentinel needs a writable one). */
  config?: string;
  /** The log line that says the server is up. Default "Ready to accept connections"; a sentinel logs "+monitor master". */
  readyLine?: string;
}

/**
 * A disposable redis-server on a free 127.0.0.1 port, never the machine's own Redis. Stop it
 * and start it again on the same port to simulate an outage; `close()` kills it for good.
 */
export interface RedisServer {
  readonly host: string;
  /** The data directory (the server's working directory). */
  readonly dir: string;
  readonly port: number;
  readonly url: string;
  readonly running: boolean;
  /** Stops the process: SIGTERM (graceful) or SIGKILL (a crash). Resolves once it has exited. */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** SIGSTOP: the server keeps its connections open but answers nothing (a hung Redis). */
  freeze(): void;
  /** SIGCONT after `freeze()`. */
  thaw(): void;
  /** Starts it again on the same port. Resolves once it accepts connections. */
  start(): Promise<void>;
  restart(): Promise<void>;
  /**
   * Runs one command on a connection of its own and resolves with the reply's first line, e.g.
   * `:2` for `command('CLIENT', 'KILL', 'TYPE', 'pubsub')`. For commands with one-line replies.
   */
  command(...args: string[]): Promise<string>;
  /** Kills the process and removes its data directory. Idempotent. */
  close(): Promise<void>;
}

const READY_TIMEOUT_MS = 10_000;

/**
 * Starts a redis-server for a test file. Call `close()` in `after`.
 *
 * @example
 * const redis = await startRedisServer();
 * after(() => redis.close());
 */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  // The free port may be taken between probing and binding; try a few.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnFreePort(options);
    } catch (err) {
      if (attempt >= 3) throw err;
    }
  }
}

async function startOnFreePort(options: RedisServerOptions): Promise<RedisServer> {
  const host = '127.0.0.1';
  const port = await freePort(host);
  const dir = mkdtempSync(join(tmpdir(), 'herald-redis-'));
  const extra = typeof options.args === 'function' ? options.args(port) : (options.args ?? []);
  const configFile = join(dir, 'redis.conf');
  if (options.config !== undefined) writeFileSync(configFile, options.config);
  const args = [
    ...(options.config !== undefined ? [configFile] : []),
    '--port', String(port),
    '--bind', host,
    '--dir', dir,
    '--save', '',
    '--daemonize', 'no',
    '--logfile', '',
    ...(options.persistent ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
    ...extra,
  ];
  let child: ChildProcess | undefined;
  // A crashed test run must not leave redis-server behind.
  const killOnExit = (): void => {
    child?.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  const start = async (): Promise<void> => {
    if (child) return;
    const proc = spawn(REDIS_SERVER_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    proc.once('exit', () => {
      if (child === proc) child = undefined;
    });
    await waitForReady(proc, options.readyLine ?? 'Ready to accept connections');
  };

  const stop = async (signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> => {
    const proc = child;
    if (!proc) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill(signal);
    // A frozen server only acts on SIGTERM once it runs again.
    if (signal === 'SIGTERM') proc.kill('SIGCONT');
    await exited;
  };

  try {
    await start();
  } catch (err) {
    process.off('exit', killOnExit);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    host,
    dir,
    port,
    url: `redis://${host}:${port}`,
    get running() {
      return child !== undefined;
    },
    stop,
    start,
    freeze() {
      child?.kill('SIGSTOP');
    },
    thaw() {
      child?.kill('SIGCONT');
    },
    async restart() {
      await stop();
      await start();
    },
    command: (...command) => oneLineCommand(host, port, command),
    async close() {
      await stop('SIGKILL');
      process.off('exit', killOnExit);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Resolves when the server logs that it accepts connections; rejects if it exits first. */
function waitForReady(proc: ChildProcess, readyLine: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let log = '';
    const timer = setTimeout(() => fail(new Error(`redis-server not ready after ${READY_TIMEOUT_MS} ms:\n${log}`)), READY_TIMEOUT_MS);
    const onData = (chunk: Buffer): void => {
      log += chunk.toString();
      if (log.includes(readyLine)) done();
    };
    const onExit = (code: number | null): void => fail(new Error(`redis-server exited (${code}):\n${log}`));
    const onErrData = (chunk: Buffer): void => {
      log += chunk.toString();
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      proc.stdout?.off('data', onData);
      proc.stderr?.off('data', onErrData);
      proc.off('exit', onExit);
      // Keep draining the pipes so a chatty server never blocks on a full pipe.
      proc.stdout?.resume();
      proc.stderr?.resume();
    };
    const done = (): void => {
      cleanup();
      resolve();
    };
    const fail = (err: Error): void => {
      cleanup();
      proc.kill('SIGKILL');
      reject(err);
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onErrData);
    proc.once('exit', onExit);
  });
}

/** Sends a RESP command and resolves with the first line of the reply (no Redis client needed). */
function oneLineCommand(host: string, port: number, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, host);
    let reply = '';
    socket.setTimeout(5000, () => socket.destroy(new Error(`no reply to ${args.join(' ')}`)));
    socket.on('error', reject);
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      const end = reply.indexOf('\r\n');
      if (end < 0) return;
      socket.end();
      resolve(reply.slice(0, end));
    });
    socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);
  });
}

/** A port free on `host` now (it may be taken again before it is bound: retry on EADDRINUSE). */
export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
