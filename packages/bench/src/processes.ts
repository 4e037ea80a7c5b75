// Every process the bench starts goes through here, so that all of them are stopped at the end,
// on Ctrl-C and on errors.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';

export interface ChildOptions {
  name: string;
  /** Node arguments (script and flags); with `command`, that executable's arguments. */
  args: string[];
  /** An executable other than node (redis-server). */
  command?: string;
  /** CPU to pin the process to; ignored when pinning is off. */
  core?: number;
  env?: NodeJS.ProcessEnv;
  /** Open an IPC channel (node children only). */
  ipc?: boolean;
  /** Raise the open-files limit to this (when the current hard limit is lower and we may). */
  nofile?: number;
}

export interface Child {
  readonly name: string;
  readonly pid: number;
  readonly process: ChildProcess;
  /** Why the process is gone, or null while it runs. */
  exited(): string | null;
  /** The last lines it printed, for error messages. */
  output(): string;
  stop(): Promise<void>;
}

const children = new Set<Child>();
let pinning = hasTaskset() && cpus().length >= 2;

function hasTaskset(): boolean {
  return spawnSync('taskset', ['-V'], { stdio: 'ignore' }).status === 0;
}

/** Whether processes are pinned to cores (needs taskset and two CPUs). */
export function pinningEnabled(): boolean {
  return pinning;
}

export function setPinning(enabled: boolean): void {
  pinning = enabled && hasTaskset() && cpus().length >= 2;
}

/** Pins this process, all its threads, to `core` (the orchestrator and its publisher). */
export function pinSelf(core: number): void {
  if (pinning) spawnSync('taskset', ['-a', '-cp', String(core), String(process.pid)], { stdio: 'ignore' });
}

function hardFileLimit(): number {
  try {
    const line = /^Max open files\s+(\S+)\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return line?.[2] === 'unlimited' ? Infinity : Number(line?.[2] ?? 0);
  } catch {
    return 0;
  }
}

const raisable = new Map<number, boolean>();

/** Whether a child's open-files limit can be raised to `n` (needs CAP_SYS_RESOURCE beyond the hard limit). */
function canRaiseTo(n: number): boolean {
  let ok = raisable.get(n);
  if (ok === undefined) {
    ok = spawnSync('prlimit', [`--nofile=${n}:${n}`, 'true'], { stdio: 'ignore' }).status === 0;
    raisable.set(n, ok);
  }
  return ok;
}

/** The open-files limit a child can get here: `wanted`, or the hard limit when it cannot be raised. */
export function maxFiles(wanted: number): number {
  const hard = hardFileLimit();
  return hard >= wanted || canRaiseTo(wanted) ? wanted : hard;
}

export function spawnChild(options: ChildOptions): Child {
  const argv = [options.command ?? process.execPath, ...options.args];
  if (pinning && options.core !== undefined) argv.unshift('taskset', '-c', String(options.core));
  if (options.nofile && hardFileLimit() < options.nofile && canRaiseTo(options.nofile)) {
    argv.unshift('prlimit', `--nofile=${options.nofile}:${options.nofile}`);
  }
  // taskset and prlimit exec the command, so the pid below is the node (or redis) process itself.
  const proc = spawn(argv[0], argv.slice(1), {
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe', ...(options.ipc ? (['ipc'] as const) : [])],
  });
  let tail = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-4000);
  };
  // Always drain the pipes: a full pipe would block the child.
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  let gone: string | null = null;
  let spawnError: Error | undefined;
  const done = new Promise<void>((resolve) => {
    proc.once('error', (err) => {
      spawnError = err;
      gone = `${options.name} failed to start: ${err.message}`;
      resolve();
    });
    proc.once('exit', (code, signal) => {
      gone ??= `${options.name} exited (${signal ?? `code ${code}`})`;
      resolve();
    });
  });
  const child: Child = {
    name: options.name,
    pid: proc.pid ?? -1,
    process: proc,
    exited: () => (gone ? `${gone}${tail ? `:\n${tail.trim().split('\n').slice(-8).join('\n')}` : ''}` : null),
    output: () => tail,
    async stop() {
      if (!gone && !spawnError) {
        proc.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill('SIGKILL'), 3000);
        await done;
        clearTimeout(timer);
      }
      children.delete(child);
    },
  };
  children.add(child);
  void done.then(() => children.delete(child));
  return child;
}

/** Stops every process still running. */
export async function stopAll(): Promise<void> {
  await Promise.all([...children].map((c) => c.stop()));
}

let installed = false;

/** Stops every child on Ctrl-C, SIGTERM, an uncaught error, or exit. */
export function installCleanup(): void {
  if (installed) return;
  installed = true;
  const onSignal = (signal: NodeJS.Signals, code: number) => {
    process.on(signal, () => {
      console.error(`\n${signal}: stopping ${children.size} process(es)`);
      void stopAll().finally(() => process.exit(code));
    });
  };
  onSignal('SIGINT', 130);
  onSignal('SIGTERM', 143);
  process.on('uncaughtException', (err) => {
    console.error(err);
    void stopAll().finally(() => process.exit(1));
  });
  process.on('unhandledRejection', (err) => {
    console.error(err);
    void stopAll().finally(() => process.exit(1));
  });
  // Last resort when the process exits without awaiting stopAll.
  process.on('exit', () => {
    for (const c of children) c.process.kill('SIGKILL');
  });
}
